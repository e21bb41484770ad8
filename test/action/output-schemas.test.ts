/**
 * The output schemas n8n's editor shows before a node has run (`__schema__/v1.0.0/...`, served by
 * n8n as /schemas/<node>/1.0.0/<resource>/<operation>.json) held to what the node emits through the
 * engine with default settings: every field an output has is in its schema with the same type, every
 * field of the schema appears in some output, and a field the schema requires is in every output.
 * `WRITE_OUTPUT_SCHEMAS=1 npx jest test/action/output-schemas.test.ts` writes them from these
 * outputs (then read the diff: fields the recipe or the prompt defines stay open objects).
 */
import type { IDataObject } from 'n8n-workflow';

import { deliverAsExecution, runAction, setUpTrigger } from '../harness/engine';
import { fs, PACKAGE_ROOT, path, process } from '../harness/host';
import { TEST_KEY, fakeKey, jsonOf, sleepMs, useSimulator } from '../helpers';

const api = useSimulator();
const WRITE = process.env.WRITE_OUTPUT_SCHEMAS === '1';

interface JsonSchema {
	type?: string | string[];
	properties?: Record<string, JsonSchema>;
	required?: string[];
	items?: JsonSchema;
	additionalProperties?: boolean;
	description?: string;
}

/** Values whose fields the user defines (a recipe's rows, an extraction's result): open objects. */
let OPEN = new Set<string>();

/**
 * Objects that are null in some outputs (usage's `last_run` before an account's first run). Their
 * schema says `object` alone: n8n's editor shows the first type of a list, so `["null", "object"]`
 * showed a field typed null, without its fields. Their description says when they are null.
 */
let NULL_AT_TIMES = new Set<string>();
const bare = (at: string) => at.replace(/^\./, '');

function typeOf(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'array';
	if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
	return typeof value;
}

/** A schema inferred from samples: the union of their fields, required where all have them. */
function infer(samples: unknown[], at: string): JsonSchema {
	if (OPEN.has(at)) return { type: 'object', additionalProperties: true };
	const types = [...new Set(samples.map(typeOf))].filter(
		(one) => one !== 'null' || !NULL_AT_TIMES.has(bare(at)),
	);
	const numeric = types.includes('number') && types.includes('integer');
	const type = numeric ? types.filter((one) => one !== 'integer') : types;
	const schema: JsonSchema = { type: type.length === 1 ? type[0] : type.sort() };
	const objects = samples.filter((sample) => typeOf(sample) === 'object') as IDataObject[];
	if (objects.length) {
		const keys = [...new Set(objects.flatMap((object) => Object.keys(object)))].sort();
		schema.properties = Object.fromEntries(
			keys.map((key) => [
				key,
				infer(
					objects.filter((object) => key in object).map((object) => object[key]),
					`${at ? `${at}.` : ''}${key}`,
				),
			]),
		);
		const required = keys.filter((key) => objects.every((object) => key in object));
		if (required.length) schema.required = required;
	}
	const arrays = samples.filter(Array.isArray) as unknown[][];
	if (arrays.some((array) => array.length)) schema.items = infer(arrays.flat(), `${at}[]`);
	return schema;
}

/** Where `value` disagrees with `schema`: a missing required field, a type, a field not listed. */
function mismatches(value: unknown, schema: JsonSchema, at: string, seen: Set<string>): string[] {
	seen.add(at);
	if (value === null && NULL_AT_TIMES.has(bare(at))) {
		// Its description must say so, for the user reading the editor and for the AI builder.
		return /\bnull\b/.test(schema.description ?? '')
			? []
			: [`${at}: null, its description does not say when`];
	}
	const allowed = Array.isArray(schema.type) ? schema.type : [schema.type];
	const type = typeOf(value);
	if (!allowed.includes(type) && !(type === 'integer' && allowed.includes('number')))
		return [`${at || '(item)'}: ${type}, the schema says ${allowed.join(' or ')}`];
	const found: string[] = [];
	if (type === 'object' && !schema.additionalProperties) {
		const object = value as IDataObject;
		for (const key of schema.required ?? [])
			if (!(key in object)) found.push(`${at}.${key}: missing, the schema requires it`);
		for (const [key, field] of Object.entries(object)) {
			const fieldSchema = schema.properties?.[key];
			if (!fieldSchema) found.push(`${at}.${key}: not in the schema`);
			else found.push(...mismatches(field, fieldSchema, `${at}.${key}`, seen));
		}
	}
	if (type === 'array' && schema.items)
		for (const element of value as unknown[])
			found.push(...mismatches(element, schema.items, `${at}[]`, seen));
	return found;
}

/** Every path the schema names, so a field no output has is found too. */
function pathsOf(schema: JsonSchema, at: string): string[] {
	const paths = [at];
	for (const [key, field] of Object.entries(schema.properties ?? {}))
		paths.push(...pathsOf(field, `${at}.${key}`));
	if (schema.items) paths.push(...pathsOf(schema.items, `${at}[]`));
	return paths;
}

const SCHEMA_DIRS = {
	action: path.join(PACKAGE_ROOT, 'nodes', 'WebScrapeAi', '__schema__', 'v1.0.0'),
	trigger: path.join(PACKAGE_ROOT, 'nodes', 'WebScrapeAiTrigger', '__schema__'),
};

function check(
	file: string,
	outputs: IDataObject[],
	open: string[] = [],
	nullAtTimes: Record<string, string> = {},
): void {
	OPEN = new Set(['result.pages[].items[]', ...open]);
	NULL_AT_TIMES = new Set(Object.keys(nullAtTimes));
	expect(outputs.length).toBeGreaterThan(0);
	if (WRITE) {
		const inferred = infer(outputs, '');
		for (const [at, description] of Object.entries(nullAtTimes))
			inferred.properties![at] = { description, ...inferred.properties![at] };
		fs.mkdirSync(path.dirname(file), { recursive: true });
		fs.writeFileSync(file, `${JSON.stringify(inferred, null, '\t')}\n`);
	}
	const schema = JSON.parse(fs.readFileSync(file, 'utf8')) as JsonSchema;
	// What n8n's editor needs to show a preview at all.
	expect(schema.type).toBe('object');
	expect(Object.keys(schema.properties ?? {}).length).toBeGreaterThan(0);
	const seen = new Set<string>();
	expect(outputs.flatMap((output) => mismatches(output, schema, '', seen))).toEqual([]);
	expect(pathsOf(schema, '').filter((one) => !seen.has(one))).toEqual([]);
}

describe('each output schema matches what the node emits with default settings', () => {
	beforeAll(() => {
		api.sim.addRecipe('schemaDone1', { durationMs: 100, pages: 2, itemsPerPage: 2 });
		api.sim.addRecipe('schemaFail1', {
			durationMs: 100,
			outcome: 'failed',
			error: 'login form not found',
		});
	});

	test("Recipe → Run and Run → Get emit the recipe's own rows: no schema can name them, none ships", async () => {
		const done = api.sim.seedCompletedRun('schemaDone1');
		const result = await api.run({ resource: 'run', operation: 'get', runId: done.id });
		expect(jsonOf(result.outputs[0])[0]).toEqual({
			name: 'Product 1-1',
			price: 10,
			url: 'https://shop.example/schemaDone1/p1/1',
		});
		for (const operation of ['recipe/run.json', 'run/get.json'])
			expect(fs.existsSync(path.join(SCHEMA_DIRS.action, operation))).toBe(false);
	});

	test('Usage → Get: an account that has run a recipe, and one that never did', async () => {
		api.sim.seedCompletedRun('schemaDone1');
		await api.run({
			resource: 'recipe',
			operation: 'run',
			recipeId: 'schemaDone1',
			waitForCompletion: false,
		});
		await sleepMs(500);
		const ran = await api.run({ resource: 'usage', operation: 'get' });
		const fresh = fakeKey('schemaFresh');
		api.sim.addKey(fresh);
		const never = await runAction({ resource: 'usage', operation: 'get' }, [{}], {
			credentials: { apiKey: fresh, baseUrl: api.baseUrl },
		});
		const outputs = [...jsonOf(ran.outputs[0]), ...jsonOf(never.outputs[0])];
		expect(outputs.map((usage) => typeOf(usage.last_run))).toEqual(['object', 'null']);
		check(path.join(SCHEMA_DIRS.action, 'usage', 'get.json'), outputs, [], {
			last_run: "The account's most recent run; null until its first run.",
		});
	});

	test('Page → Scrape', async () => {
		const result = await api.run({
			resource: 'page',
			operation: 'scrape',
			url: 'https://example.com/a',
		});
		check(path.join(SCHEMA_DIRS.action, 'page', 'scrape.json'), jsonOf(result.outputs[0]));
	});

	test('Page → Extract', async () => {
		const result = await api.run({
			resource: 'page',
			operation: 'extract',
			url: 'https://example.com/a',
			prompt: 'the title',
		});
		check(path.join(SCHEMA_DIRS.action, 'page', 'extract.json'), jsonOf(result.outputs[0]), [
			'result',
		]);
	});

	test('the trigger (Output: Run): a completed and a failed delivery', async () => {
		const setup = await setUpTrigger(
			{ events: ['completed', 'failed'] },
			{ apiKey: TEST_KEY, baseUrl: api.baseUrl },
		);
		const outputs: IDataObject[] = [];
		for (const recipeId of ['schemaDone1', 'schemaFail1']) {
			const dispatched = await api.run({
				resource: 'recipe',
				operation: 'run',
				recipeId,
				waitForCompletion: false,
			});
			const runId = jsonOf(dispatched.outputs[0])[0].run_id as string;
			await sleepMs(300);
			const run = api.sim.runs.get(runId)!;
			const execution = await deliverAsExecution(setup, api.sim.webhookPayload(run) as IDataObject);
			expect(execution.error).toBeUndefined();
			outputs.push(...jsonOf(execution.outputs[0]));
		}
		check(path.join(SCHEMA_DIRS.trigger, 'v1.0.0.json'), outputs);
	});
});

test("the trigger example's pinned sample delivery has the trigger's output shape", () => {
	const example = JSON.parse(
		fs.readFileSync(path.join(PACKAGE_ROOT, 'examples', 'continue-when-a-run-ends.json'), 'utf8'),
	) as { pinData: Record<string, Array<{ json: IDataObject }>> };
	const pinned = example.pinData['When a run ends'].map((item) => item.json);
	const schema = JSON.parse(
		fs.readFileSync(path.join(SCHEMA_DIRS.trigger, 'v1.0.0.json'), 'utf8'),
	) as JsonSchema;
	OPEN = new Set(['result.pages[].items[]']);
	NULL_AT_TIMES = new Set();
	expect(pinned.flatMap((item) => mismatches(item, schema, '', new Set()))).toEqual([]);
});
