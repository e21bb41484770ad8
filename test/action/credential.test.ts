import type { ICredentialTestRequest, INode } from 'n8n-workflow';
import { Workflow } from 'n8n-workflow';
import { request } from 'undici';

import { loadPackage } from '../harness/engine';
import { TEST_KEY, useSimulator } from '../helpers';

const api = useSimulator();

/** Resolves the credential's test request with n8n's expression engine, as n8n's tester does, and sends it. */
async function testCredential(apiKey: string, baseUrl: string) {
	const { nodeTypes, credentialTypes } = await loadPackage();
	const type = credentialTypes.webScrapeAiApi;
	const node: INode = {
		id: 'n',
		name: 'n',
		type: 'n8n-nodes-webscrape-ai.webScrapeAi',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
	const workflow = new Workflow({ nodes: [node], connections: {}, active: false, nodeTypes });
	const credentials = { apiKey, baseUrl };
	const resolve = (value: string) =>
		workflow.expression.getSimpleParameterValue(
			node,
			value,
			'internal',
			{ $credentials: credentials },
			undefined,
			'',
		) as string;
	const test = (type.test as ICredentialTestRequest).request;
	const headers: Record<string, string> = {};
	const auth = type.authenticate as { properties: { headers: Record<string, string> } };
	for (const [name, value] of Object.entries(auth.properties.headers))
		headers[name] = resolve(value);
	const response = await request(`${resolve(test.baseURL!)}${test.url}`, {
		method: 'GET',
		headers,
	});
	return {
		status: response.statusCode,
		body: (await response.body.json()) as { error?: { code: string } },
	};
}

describe('credential webScrapeAiApi', () => {
	test('has exactly the documented fields', async () => {
		const { credentialTypes } = await loadPackage();
		expect(credentialTypes.webScrapeAiApi.properties.map((p) => p.name)).toEqual([
			'apiKey',
			'baseUrl',
			'webhookHeaderName',
			'webhookHeaderValue',
		]);
	});

	test('its test request reads /smartbrowse/usage with X-API-Key; a trailing slash on the base URL is fine', async () => {
		api.sim.clearLog();
		const ok = await testCredential(TEST_KEY, `${api.baseUrl}/`);
		expect(ok.status).toBe(200);
		expect(api.sim.requests('usage')).toHaveLength(1);
		expect(api.sim.requests('usage')[0].keyValid).toBe(true);
	});

	test('a wrong key reads as a wrong key (401 unauthorized)', async () => {
		const bad = await testCredential('wsg_live_WRONGkey123456789abcdefghijklmn', api.baseUrl);
		expect(bad.status).toBe(401);
		expect(bad.body.error?.code).toBe('unauthorized');
	});
});
