'use strict';
/**
 * An S3-compatible endpoint on 127.0.0.1 for n8n's own S3 node (path-style addressing, as the node
 * sends it for Minio and the like): the bucket's location, PUT and GET of an object. It keeps each
 * object with the headers it came with and refuses what S3 refuses here: a body whose Content-MD5
 * does not match (400 BadDigest) and a request not signed with the test access key (403). The
 * signature itself is not recomputed: what is under test is the file n8n's node sends and reads.
 */
const { createHash } = require('node:crypto');
const http = require('node:http');

const ACCESS_KEY_ID = 'wsai-test-access-key';
const SECRET_ACCESS_KEY = 'wsai-test-secret-key';
const REGION = 'us-east-1';

const xml = (body) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
const error = (code, message) =>
	xml(`<Error><Code>${code}</Code><Message>${message}</Message></Error>`);

async function startS3StandIn() {
	/** `bucket/key` → { body, contentType }. */
	const objects = new Map();
	const server = http.createServer(async (request, response) => {
		const chunks = [];
		for await (const chunk of request) chunks.push(chunk);
		const body = Buffer.concat(chunks);
		const url = new URL(request.url, 'http://127.0.0.1');
		const [bucket, ...keyParts] = url.pathname.slice(1).split('/');
		const key = decodeURIComponent(keyParts.join('/'));
		const send = (status, text, headers = {}) => {
			response.writeHead(status, { 'content-type': 'application/xml', ...headers });
			response.end(text);
		};
		const authorization = String(request.headers.authorization ?? '');
		if (!authorization.startsWith(`AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/`))
			return send(403, error('InvalidAccessKeyId', 'Not signed with the test access key'));
		if (request.method === 'GET' && key === '' && url.searchParams.has('location'))
			return send(
				200,
				xml(
					`<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${REGION}</LocationConstraint>`,
				),
			);
		if (request.method === 'PUT' && key !== '') {
			const md5 = createHash('md5').update(body).digest('base64');
			if (request.headers['content-md5'] !== md5)
				return send(400, error('BadDigest', 'The Content-MD5 you specified did not match'));
			objects.set(`${bucket}/${key}`, { body, contentType: request.headers['content-type'] });
			return send(200, '', { etag: `"${createHash('md5').update(body).digest('hex')}"` });
		}
		if (request.method === 'GET' && key !== '') {
			const object = objects.get(`${bucket}/${key}`);
			if (!object) return send(404, error('NoSuchKey', 'The specified key does not exist.'));
			response.writeHead(200, {
				'content-type': object.contentType ?? 'application/octet-stream',
				'content-length': object.body.length,
			});
			return response.end(object.body);
		}
		send(501, error('NotImplemented', `${request.method} ${url.pathname}${url.search}`));
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	// Ends with the test process, whichever suite finishes last.
	server.unref();
	const baseUrl = `http://127.0.0.1:${server.address().port}`;
	return {
		baseUrl,
		objects,
		/** n8n's S3 credential for this endpoint. */
		credential: (id, name) => ({
			id,
			name,
			type: 's3',
			data: {
				endpoint: baseUrl,
				region: REGION,
				accessKeyId: ACCESS_KEY_ID,
				secretAccessKey: SECRET_ACCESS_KEY,
				forcePathStyle: true,
				ignoreSSLIssues: false,
			},
		}),
	};
}

module.exports = { startS3StandIn };
