import type { IDataObject } from 'n8n-workflow';

import { process } from '../harness/host';
import { expectNoSecret, useSimulator } from '../helpers';

const api = useSimulator();
beforeEach(() => api.sim.clearLog());

const scrape = (extra: object = {}) => ({
	resource: 'page',
	operation: 'scrape',
	url: 'https://example.com/a',
	...extra,
});
const extract = (extra: object = {}) => ({
	resource: 'page',
	operation: 'extract',
	url: 'https://example.com/a',
	prompt: 'Get the title',
	...extra,
});

describe('Page → Scrape', () => {
	test('the minimum request sends only website_url; output is data plus credits', async () => {
		const { outputs, error } = await api.run(scrape());
		expect(error).toBeUndefined();
		expect(api.sim.requests('scrape')[0].body).toEqual({ website_url: 'https://example.com/a' });
		expect(api.sim.requests('scrape')[0].contentType).toBe('application/json');
		expect(outputs[0][0].json).toMatchObject({
			html: expect.stringContaining('<h1>Hello</h1>'),
			metadata: { title: 'Example page' },
			credits_used: 1,
			credits_remaining: api.sim.account().credits,
		});
		expect(outputs[0][0].pairedItem).toEqual({ item: 0 });
	});

	test('every option lands in the body under the documented name', async () => {
		await api.run(
			scrape({
				format: 'markdown',
				options: {
					extractLinks: true,
					parseMode: 'speed',
					tagTruncate: false,
					includeTags: 'article, main',
					excludeTags: 'nav,footer',
					headers: {
						header: [
							{ name: 'Cookie', value: 'a=1' },
							{ name: 'X-Test', value: 'yes' },
						],
					},
					maxAge: 0,
					stealth: true,
				},
			}),
		);
		expect(api.sim.requests('scrape')[0].body).toEqual({
			website_url: 'https://example.com/a',
			clean: true,
			extract_links: true,
			parse_mode: 'speed',
			tag_truncate: false,
			include_tags: ['article', 'main'],
			exclude_tags: ['nav', 'footer'],
			headers: { Cookie: 'a=1', 'X-Test': 'yes' },
			max_age: 0,
			stealth: true,
		});
	});

	test.each(['example.com', 'ftp://example.com/x', '', 'javascript:alert(1)'])(
		'a bad url (%j) → a clear error, 0 requests',
		async (url) => {
			const { error } = await api.run(scrape({ url: '={{ $json.url }}' }), [{ url }]);
			expect(error?.message).toMatch(/is not an absolute http\(s\) URL \[item 0\]$/);
			expect(api.sim.log).toHaveLength(0);
		},
	);

	test('402, 429 and 5xx: message or retry', async () => {
		api.sim.fault({
			route: 'scrape',
			type: 'status',
			status: 402,
			code: 'insufficient_credits',
			details: { balance: 0, required: 1 },
		});
		expect((await api.run(scrape())).error?.message).toBe(
			'Not enough webscrape.ai credits: balance 0, this request needs 1',
		);
		api.sim.fault({
			route: 'scrape',
			type: 'rate_limited',
			reason: 'rate_limit_per_min',
			retryAfter: 0,
		});
		api.sim.fault({
			route: 'scrape',
			type: 'status',
			status: 502,
			code: 'service_unavailable',
			retryAfter: 0,
		});
		const retried = await api.run(scrape());
		expect(retried.error).toBeUndefined();
		expect(api.sim.requests('scrape').map((entry) => entry.status)).toEqual([402, 429, 502, 200]);
	});

	test('a reset after the request was sent is not retried (it may be billed)', async () => {
		api.sim.fault({ route: 'scrape', type: 'reset-after' });
		const { error } = await api.run(scrape());
		expect(error?.message).toBe(
			'webscrape.ai may have processed the request, but its answer was lost',
		);
		expect(api.sim.requests('scrape')).toHaveLength(1);
	});
});

describe('Concurrency (Scrape and Extract)', () => {
	const items = (count: number) =>
		Array.from({ length: count }, (_, index) => ({ url: `https://example.com/c/${index}` }));
	// What n8n's log would show: Node prints its warnings on the process's standard error.
	let warnings: string[] = [];
	const writeStderr = process.stderr.write;
	beforeEach(() => {
		warnings = [];
		process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
			warnings.push(String(chunk));
			return (writeStderr as (...args: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
		}) as typeof process.stderr.write;
	});
	afterEach(() => {
		process.stderr.write = writeStderr;
		Object.assign(api.sim.account(), {
			responseDelayMs: 0,
			maxConcurrent: undefined,
			concurrencyCounts: undefined,
		});
	});

	test('Concurrency 20 sends twenty pages together; output keeps input order', async () => {
		api.sim.account().responseDelayMs = 600;
		const { outputs, error } = await api.run(
			scrape({ url: '={{ $json.url }}', options: { concurrency: 20 } }),
			items(20),
		);
		expect(error).toBeUndefined();
		const sentAt = api.sim.requests('scrape').map((entry) => entry.at);
		expect(sentAt).toHaveLength(20);
		expect(Math.max(...sentAt) - Math.min(...sentAt)).toBeLessThan(300);
		expect(outputs[0].map((item) => item.pairedItem)).toEqual(
			items(20).map((_, index) => ({ item: index })),
		);
	});

	test("a plan that allows 3 at once: 30 pages at Concurrency 20 all succeed, and n8n's log gets no listener warning", async () => {
		Object.assign(api.sim.account(), {
			responseDelayMs: 200,
			maxConcurrent: 3,
			concurrencyCounts: 'requests',
		});
		const { outputs, error } = await api.run(
			extract({ url: '={{ $json.url }}', options: { concurrency: 20 } }),
			items(30),
		);
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(30);
		expect(api.sim.requests('extract').some((entry) => entry.status === 429)).toBe(true);
		// Twenty waits share the execution's cancel signal: Node warns past 10 listeners on one signal.
		expect(warnings.filter((text) => /MaxListeners/.test(text))).toEqual([]);
	});
});

describe('Page → Extract', () => {
	test('prompt and options land in the body; unset options are absent', async () => {
		await api.run(extract());
		expect(api.sim.requests('extract')[0].body).toEqual({
			website_url: 'https://example.com/a',
			user_prompt: 'Get the title',
		});
		await api.run(
			extract({
				options: {
					pageComplexity: 'high',
					detailLevel: 'low',
					plainText: true,
					parseMode: 'accurate',
					includeTags: 'main',
					excludeTags: 'script',
					reduceContent: true,
					experimental: true,
					headers: { header: [{ name: 'Accept-Language', value: 'de' }] },
					maxAge: 600,
					stealth: true,
				},
			}),
		);
		expect(api.sim.requests('extract')[1].body).toEqual({
			website_url: 'https://example.com/a',
			user_prompt: 'Get the title',
			page_complexity: 'high',
			detail_level: 'low',
			plain_text: true,
			parse_mode: 'accurate',
			include_tags: ['main'],
			exclude_tags: ['script'],
			reduce_content: true,
			experimental: true,
			headers: { 'Accept-Language': 'de' },
			max_age: 600,
			stealth: true,
		});
	});

	const schema = {
		type: 'object',
		properties: { title: { type: 'string' }, price: { type: 'number' } },
	};

	test('outputSchema as a JSON string and as an object both work', async () => {
		const asString = await api.run(extract({ outputSchema: JSON.stringify(schema) }));
		const asObject = await api.run(extract({ outputSchema: '={{ $json.schema }}' }), [{ schema }]);
		for (const result of [asString, asObject]) {
			expect(result.error).toBeUndefined();
			expect(result.outputs[0][0].json).toMatchObject({
				result: { title: 'example', price: 1 },
				credits_used: 5,
			});
		}
		expect(
			api.sim.requests('extract').map((entry) => (entry.body as IDataObject).output_schema),
		).toEqual([schema, schema]);
	});

	test.each([
		['{not json', 'Output Schema is not valid JSON [item 0]'],
		['[]', 'Output Schema must be a JSON object (a JSON Schema) [item 0]'],
		['"x"', 'Output Schema must be a JSON object (a JSON Schema) [item 0]'],
	])('outputSchema %j → a clear error, 0 requests', async (outputSchema, message) => {
		const { error } = await api.run(extract({ outputSchema }));
		expect(error?.message).toBe(message);
		expect(api.sim.log).toHaveLength(0);
	});

	test('an empty prompt or a bad url → a clear error, 0 requests', async () => {
		expect((await api.run(extract({ prompt: '  ' }))).error?.message).toBe(
			'Prompt is empty [item 0]',
		);
		expect((await api.run(extract({ url: '/relative' }))).error?.message).toMatch(
			/not an absolute http\(s\) URL/,
		);
		expect(api.sim.log).toHaveLength(0);
	});

	test('422 validation_failed reads as a schema mismatch after one repair attempt; not retried', async () => {
		api.sim.fault({ route: 'extract', type: 'status', status: 422, code: 'validation_failed' });
		const { error } = await api.run(extract({ outputSchema: JSON.stringify(schema) }));
		expect(error?.message).toBe('The page did not match your schema after one repair attempt');
		expect(api.sim.requests('extract')).toHaveLength(1);
	});

	test('429 (monthly quota does not apply) and 500 are retried', async () => {
		api.sim.fault({
			route: 'extract',
			type: 'rate_limited',
			reason: 'max_concurrent_requests',
			retryAfter: 0,
		});
		api.sim.fault({ route: 'extract', type: 'status', status: 500, retryAfter: 0 });
		const { error } = await api.run(extract());
		expect(error).toBeUndefined();
		expect(api.sim.requests('extract').map((entry) => entry.status)).toEqual([429, 500, 200]);
	});

	test('the API key appears in no output, error or log line', () => {
		expectNoSecret(api.seen);
	});
});
