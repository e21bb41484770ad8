'use strict';
/**
 * An OpenAI-compatible chat server on 127.0.0.1 that plays the model for n8n's AI Agent (its OpenAI
 * Chat Model node points at it through the openAiApi credential's Base URL). It follows a script in
 * the prompt: `CALL <tool> <JSON arguments>` makes it call that tool with those arguments; once a
 * tool's answer is in the conversation it answers `TOOL ANSWERED: <what the tool returned>` and
 * stops. Every request is kept, so a test asserts on what the model was told. Answers plain JSON or
 * server-sent events, as the request asks.
 */
const http = require('node:http');

function contentOf(message) {
	if (typeof message?.content === 'string') return message.content;
	if (Array.isArray(message?.content))
		return message.content.map((part) => part.text ?? '').join('');
	return '';
}

async function startModel() {
	const requests = [];
	let counter = 0;
	const server = http.createServer((req, res) => {
		let body = '';
		req.on('data', (chunk) => (body += chunk));
		req.on('end', () => {
			if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
				res.writeHead(404, { 'content-type': 'application/json' });
				res.end(JSON.stringify({ error: { message: `not served: ${req.method} ${req.url}` } }));
				return;
			}
			const request = JSON.parse(body || '{}');
			requests.push({ headers: req.headers, body: request, raw: body });
			const messages = request.messages ?? [];
			const toolMessages = messages.filter((message) => message.role === 'tool');
			const prompt = contentOf(messages.filter((message) => message.role === 'user').at(-1));
			let message;
			const script = /CALL (\w+) (\{.*\})/s.exec(prompt);
			if (toolMessages.length > 0 || !script) {
				message = {
					role: 'assistant',
					content: `TOOL ANSWERED: ${contentOf(toolMessages.at(-1)) || '(nothing)'}`,
				};
			} else {
				counter++;
				message = {
					role: 'assistant',
					content: null,
					tool_calls: [
						{
							id: `call_${counter}`,
							type: 'function',
							function: { name: script[1], arguments: script[2] },
						},
					],
				};
			}
			const finish = message.tool_calls ? 'tool_calls' : 'stop';
			const base = { id: `chatcmpl-${requests.length}`, created: 1, model: request.model };
			const usage = { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 };
			if (!request.stream) {
				res.writeHead(200, { 'content-type': 'application/json' });
				res.end(
					JSON.stringify({
						...base,
						object: 'chat.completion',
						choices: [{ index: 0, message, finish_reason: finish }],
						usage,
					}),
				);
				return;
			}
			res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
			const send = (choice, extra = {}) =>
				res.write(
					`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: choice ? [choice] : [], ...extra })}\n\n`,
				);
			const delta = message.tool_calls
				? {
						role: 'assistant',
						tool_calls: message.tool_calls.map((call, index) => ({ index, ...call })),
					}
				: { role: 'assistant', content: message.content };
			send({ index: 0, delta, finish_reason: null });
			send({ index: 0, delta: {}, finish_reason: finish });
			send(undefined, { usage });
			res.end('data: [DONE]\n\n');
		});
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	const baseUrl = `http://127.0.0.1:${server.address().port}/v1`;
	return {
		baseUrl,
		requests,
		/** What each tool call of the conversation returned to the model, in order. */
		toolAnswers() {
			const seen = new Map();
			for (const { body } of requests)
				for (const message of body.messages ?? [])
					if (message.role === 'tool') seen.set(message.tool_call_id, contentOf(message));
			return [...seen.values()];
		},
		clear() {
			requests.length = 0;
		},
		stop: () => new Promise((resolve) => server.close(resolve)),
	};
}

module.exports = { startModel };
