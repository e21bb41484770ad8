/**
 * Runs workflows containing our nodes through n8n-core's real engine (WorkflowExecute, the hook
 * and webhook contexts), with the nodes loaded from the built package through its `n8n` section
 * and credentials resolved the way n8n resolves generic auth.
 */
import 'reflect-metadata';

import { Logger as BackendLogger } from '@n8n/backend-common';
import { Container } from '@n8n/di';

import {
	DataDeduplicationService,
	ExecutionLifecycleHooks,
	HookContext,
	PackageDirectoryLoader,
	WebhookContext,
	WorkflowExecute,
} from 'n8n-core';
import type {
	ICredentialDataDecryptedObject,
	IDataDeduplicator,
	ICredentials,
	ICredentialType,
	IDataObject,
	IHttpRequestOptions,
	INode,
	INodeExecutionData,
	INodeProperties,
	INodeType,
	INodeTypes,
	IRun,
	IRunExecutionData,
	IWebhookData,
	IWorkflowExecuteAdditionalData,
	IVersionedNodeType,
	Logger,
} from 'n8n-workflow';
import {
	createRunExecutionData,
	ICredentialsHelper,
	LoggerProxy,
	NodeHelpers,
	Workflow,
} from 'n8n-workflow';

import { clearInterval, PACKAGE_ROOT, process, setInterval, setTimeout } from './host';
import { ProcessedDataTable } from './processedData';

export { ProcessedDataTable };

export const PACKAGE_NAME = 'n8n-nodes-webscrape-ai';
export const ACTION_TYPE = `${PACKAGE_NAME}.webScrapeAi`;
export const TRIGGER_TYPE = `${PACKAGE_NAME}.webScrapeAiTrigger`;

/**
 * Every line n8n's loggers received during the suite, to prove no secret reaches a log. Both
 * loggers (n8n-workflow's LoggerProxy and the DI Logger a node's `this.logger` is) write here, not
 * to the console, so a passing suite prints nothing of them; N8N_TEST_LOG=1 prints them as well.
 */
export const logLines: string[] = [];
const echo = process.env.N8N_TEST_LOG === '1';
const capture =
	(level: string) =>
	(message: string, meta?: object): void => {
		const line = `${level} ${message} ${meta ? JSON.stringify(meta) : ''}`;
		logLines.push(line);
		if (echo) process.stderr.write(`[n8n] ${line}\n`);
	};
const capturingLogger = {
	error: capture('error'),
	warn: capture('warn'),
	info: capture('info'),
	debug: capture('debug'),
	scoped: () => capturingLogger,
} as unknown as Logger;
LoggerProxy.init(capturingLogger);
Container.set(BackendLogger, capturingLogger as unknown as BackendLogger);

interface LoadedPackage {
	nodeTypes: INodeTypes;
	credentialTypes: Record<string, ICredentialType>;
}

export const processedData = new ProcessedDataTable();

let loaded: Promise<LoadedPackage> | undefined;
let deduplicator: IDataDeduplicator = processedData;

/**
 * The deduplicator n8n-core's DataDeduplicationService calls (default: the model above); set it
 * before the first loadPackage(), e.g. to n8n's own DeduplicationHelper over a real database.
 */
export function useDeduplicator(real: IDataDeduplicator): void {
	if (loaded) throw new Error('useDeduplicator() must be called before the package is loaded');
	deduplicator = real;
}

/** Reads dist/ through package.json's `n8n` section; the node types it loaded, as n8n names them. */
export async function loadNodeTypes(
	loader = new PackageDirectoryLoader(PACKAGE_ROOT),
): Promise<INodeTypes> {
	await loader.loadAll();
	const byType: Record<string, INodeType | IVersionedNodeType> = {};
	for (const [name, data] of Object.entries(loader.nodeTypes)) {
		byType[`${PACKAGE_NAME}.${name}`] = data.type;
	}
	return {
		getByName: (type) => byType[type],
		getByNameAndVersion: (type, version) => NodeHelpers.getVersionedNodeType(byType[type], version),
		getKnownTypes: () => ({}),
	};
}

/** Loads dist/ through package.json's `n8n` section, as n8n's community-package loader does. */
export async function loadPackage(): Promise<LoadedPackage> {
	loaded ??= (async () => {
		await DataDeduplicationService.init(deduplicator);
		const loader = new PackageDirectoryLoader(PACKAGE_ROOT);
		const nodeTypes = await loadNodeTypes(loader);
		const credentialTypes: Record<string, ICredentialType> = {};
		for (const [name, data] of Object.entries(loader.credentialTypes)) {
			credentialTypes[name] = data.type;
		}
		return { nodeTypes, credentialTypes };
	})();
	return await loaded;
}

/** Resolves a credential's generic `authenticate` block with n8n's expression engine. */
export class TestCredentialsHelper extends ICredentialsHelper {
	constructor(
		private readonly data: ICredentialDataDecryptedObject,
		private readonly credentialTypes: Record<string, ICredentialType>,
	) {
		super();
	}

	getParentTypes(): string[] {
		return [];
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions,
		workflow: Workflow,
		node: INode,
	): Promise<IHttpRequestOptions> {
		const auth = this.credentialTypes[typeName]?.authenticate;
		if (!auth || typeof auth === 'function') throw new Error(`no generic auth for ${typeName}`);
		const resolve = (value: unknown) =>
			workflow.expression.getSimpleParameterValue(
				node,
				value as string,
				'internal',
				{ $credentials: credentials },
				undefined,
				'',
			);
		for (const [target, values] of Object.entries(auth.properties)) {
			const bucket = ((requestOptions as unknown as IDataObject)[target] ?? {}) as IDataObject;
			for (const [key, value] of Object.entries(values as IDataObject)) {
				bucket[key] = resolve(value) as IDataObject[string];
			}
			(requestOptions as unknown as IDataObject)[target] = bucket;
		}
		return requestOptions;
	}

	async preAuthentication(): Promise<undefined> {
		return undefined;
	}

	async getCredentials(): Promise<ICredentials> {
		throw new Error('not used');
	}

	async getDecrypted(): Promise<ICredentialDataDecryptedObject> {
		return { ...this.data };
	}

	async updateCredentials(): Promise<void> {}

	async updateCredentialsOauthTokenData(): Promise<void> {}

	getCredentialsProperties(): INodeProperties[] {
		return [];
	}
}

export interface CredentialData {
	apiKey: string;
	baseUrl: string;
	webhookHeaderName?: string;
	webhookHeaderValue?: string;
}

let executions = 0;

export function additionalDataFor(
	credentials: CredentialData,
	credentialTypes: Record<string, ICredentialType>,
	hooks?: ExecutionLifecycleHooks,
	executionId = `test-execution-${++executions}`,
): IWorkflowExecuteAdditionalData {
	return {
		executionId,
		hooks,
		credentialsHelper: new TestCredentialsHelper(
			{ webhookHeaderName: 'Authorization', webhookHeaderValue: '', ...credentials },
			credentialTypes,
		),
		webhookBaseUrl: 'http://127.0.0.1:5678/webhook',
		webhookTestBaseUrl: 'http://127.0.0.1:5678/webhook-test',
		webhookWaitingBaseUrl: 'http://127.0.0.1:5678/webhook-waiting',
		formWaitingBaseUrl: 'http://127.0.0.1:5678/form-waiting',
		instanceBaseUrl: 'http://127.0.0.1:5678/',
		restApiUrl: 'http://127.0.0.1:5678/rest',
		variables: {},
		currentNodeParameters: undefined,
		userId: 'test-user',
	} as unknown as IWorkflowExecuteAdditionalData;
}

export interface ActionRun {
	/** The node's outputs: [main] or [main, error] with the error output on. */
	outputs: INodeExecutionData[][];
	/** The node's error, when the run failed. */
	error?: Error & { description?: string; context?: IDataObject };
	status: string;
	run: IRun;
}

export interface ActionOptions {
	credentials: CredentialData;
	onError?: 'stopWorkflow' | 'continueRegularOutput' | 'continueErrorOutput';
	/** Cancels the execution this many ms after it starts. */
	cancelAfterMs?: number;
	/** Cancels the execution as soon as this returns true (checked every 5 ms). */
	cancelWhen?: () => boolean;
	/** The node types of another process (test/another-process.ts); default: this one's. */
	nodeTypes?: INodeTypes;
	/** The execution's ID: the same one twice is how n8n re-runs a job whose worker died. */
	executionId?: string;
	/** The workflow's ID; null for a workflow never saved. */
	workflowId?: string | null;
}

/** Runs the action node with `parameters` on `items` and returns what n8n recorded. */
export async function runAction(
	parameters: IDataObject,
	items: IDataObject[],
	options: ActionOptions,
): Promise<ActionRun> {
	const loaded = await loadPackage();
	const { credentialTypes } = loaded;
	const nodeTypes = options.nodeTypes ?? loaded.nodeTypes;
	const node: INode = {
		id: 'action-node',
		name: 'WebScrape AI',
		type: ACTION_TYPE,
		typeVersion: 1,
		position: [0, 0],
		parameters: parameters as INode['parameters'],
		credentials: { webScrapeAiApi: { id: 'cred-1', name: 'WebScrape AI account' } },
		...(options.onError ? { onError: options.onError } : {}),
	};
	const workflow = new Workflow({
		id:
			options.workflowId === null
				? (undefined as unknown as string)
				: (options.workflowId ?? 'test-workflow'),
		name: 'test',
		nodes: [node],
		connections: {},
		active: false,
		nodeTypes,
		staticData: {},
	});
	return await executeFrom(
		workflow,
		node,
		items.map((json) => ({ json })),
		'manual',
		additionalDataFor(options.credentials, credentialTypes, undefined, options.executionId),
		options.cancelAfterMs,
		options.cancelWhen,
	);
}

/**
 * Runs a one-node workflow from `node` with `items` as its input, as n8n starts an execution (a
 * webhook-started one begins with the trigger node and the items its webhook() returned).
 */
async function executeFrom(
	workflow: Workflow,
	node: INode,
	items: INodeExecutionData[],
	mode: 'manual' | 'webhook',
	baseData: IWorkflowExecuteAdditionalData,
	cancelAfterMs?: number,
	cancelWhen?: () => boolean,
): Promise<ActionRun> {
	const hooks = new ExecutionLifecycleHooks(mode, baseData.executionId ?? 'test-execution', {
		id: workflow.id,
		name: workflow.name,
		nodes: [node],
		connections: {},
		active: workflow.active,
		settings: {},
		createdAt: new Date(),
		updatedAt: new Date(),
	} as never);
	let finished: IRun | undefined;
	hooks.addHandler('workflowExecuteAfter', (run: IRun) => {
		finished = run;
	});
	const additionalData = { ...baseData, hooks } as IWorkflowExecuteAdditionalData;
	const runData: IRunExecutionData = createRunExecutionData({
		executionData: {
			nodeExecutionStack: [{ node, data: { main: [items] }, source: null }],
		},
	});
	const execution = new WorkflowExecute(additionalData, mode, runData).processRunExecutionData(
		workflow,
	);
	if (cancelAfterMs !== undefined) {
		setTimeout(() => execution.cancel(), cancelAfterMs);
	}
	const watch =
		cancelWhen &&
		setInterval(() => {
			if (!cancelWhen()) return;
			clearInterval(watch);
			execution.cancel();
		}, 5);
	const returned = await execution.finally(() => watch && clearInterval(watch));
	const run = finished ?? returned;
	const nodeRun = run.data.resultData.runData[node.name]?.[0];
	return {
		outputs: (nodeRun?.data?.main ?? []).map((output) => output ?? []) as INodeExecutionData[][],
		error: (nodeRun?.error ?? run.data.resultData.error) as ActionRun['error'],
		status: run.status,
		run,
	};
}

// ---- trigger --------------------------------------------------------------------------------

export interface TriggerSetup {
	workflow: Workflow;
	node: INode;
	additionalData: IWorkflowExecuteAdditionalData;
	webhookData: IWebhookData;
}

let triggerWorkflows = 0;

/**
 * One active trigger workflow; static data persists across deliveries on the same setup. Two setups
 * with the same `workflowId` and `staticData` stand for two requests that n8n handles at once, each
 * with the static data it loaded from the database; `nodeTypes` from loadPackageAsAnotherProcess
 * puts a setup in another process.
 */
export async function setUpTrigger(
	parameters: IDataObject,
	credentials: CredentialData,
	options: { workflowId?: string; staticData?: IDataObject; nodeTypes?: INodeTypes } = {},
): Promise<TriggerSetup> {
	const loaded = await loadPackage();
	const { credentialTypes } = loaded;
	const nodeTypes = options.nodeTypes ?? loaded.nodeTypes;
	const node: INode = {
		id: 'trigger-node',
		name: 'WebScrape AI Trigger',
		type: TRIGGER_TYPE,
		typeVersion: 1,
		position: [0, 0],
		webhookId: 'c0ffee00-0000-4000-8000-000000000001',
		parameters: parameters as INode['parameters'],
		credentials: { webScrapeAiApi: { id: 'cred-1', name: 'WebScrape AI account' } },
	};
	const workflow = new Workflow({
		id: options.workflowId ?? `trigger-workflow-${++triggerWorkflows}`,
		name: 'trigger',
		nodes: [node],
		connections: {},
		active: true,
		nodeTypes,
		staticData: structuredClone(options.staticData ?? {}),
	});
	const additionalData = additionalDataFor(credentials, credentialTypes);
	const webhookData = {
		httpMethod: 'POST',
		node: node.name,
		path: 'webhook',
		webhookDescription: { name: 'default', httpMethod: 'POST', path: 'webhook' },
		workflowId: workflow.id,
		workflowExecuteAdditionalData: additionalData,
		webhookId: node.webhookId,
	} as unknown as IWebhookData;
	return { workflow, node, additionalData, webhookData };
}

/** Calls a webhook lifecycle method (checkExists, create, delete) as n8n does on activation. */
export async function callLifecycle(
	setup: TriggerSetup,
	method: 'checkExists' | 'create' | 'delete',
): Promise<boolean> {
	const nodeType = setup.workflow.nodeTypes.getByNameAndVersion(setup.node.type, 1) as INodeType;
	const context = new HookContext(
		setup.workflow,
		setup.node,
		setup.additionalData,
		'trigger',
		'activate',
		setup.webhookData,
	);
	return await nodeType.webhookMethods!.default![method]!.call(context);
}

export interface DeliveryResult {
	/** What the sender got back. */
	status: number;
	body: unknown;
	/** What webhook() handed n8n to start the execution with, or undefined when none starts. */
	started?: INodeExecutionData[];
	/** The execution the delivery started, run through n8n-core's WorkflowExecute. */
	execution?: ActionRun;
	/** The trigger's output in that execution: what the next node receives (undefined: none). */
	emitted?: INodeExecutionData[];
}

/** Hands one HTTP request to the trigger's webhook() through n8n-core's WebhookContext. */
export async function deliver(
	setup: TriggerSetup,
	request: { body: unknown; headers?: Record<string, string>; rawBody?: string },
): Promise<DeliveryResult> {
	const nodeType = setup.workflow.nodeTypes.getByNameAndVersion(setup.node.type, 1) as INodeType;
	let status = 200;
	let body: unknown;
	const httpResponse = {
		status(code: number) {
			status = code;
			return httpResponse;
		},
		json(value: unknown) {
			body = value;
			return httpResponse;
		},
		send(value: unknown) {
			body = value;
			return httpResponse;
		},
		end(value?: unknown) {
			if (value !== undefined) body = value;
			return httpResponse;
		},
		setHeader() {
			return httpResponse;
		},
		headersSent: false,
	};
	const headers: Record<string, string> = { 'content-type': 'application/json' };
	for (const [name, value] of Object.entries(request.headers ?? {}))
		headers[name.toLowerCase()] = value;
	const additionalData = {
		...setup.additionalData,
		httpRequest: {
			body: request.body,
			headers,
			query: {},
			params: {},
			method: 'POST',
			rawBody: Buffer.from(request.rawBody ?? JSON.stringify(request.body ?? null)),
		},
		httpResponse,
	} as unknown as IWorkflowExecuteAdditionalData;
	const context = new WebhookContext(
		setup.workflow,
		setup.node,
		additionalData,
		'webhook',
		setup.webhookData,
		[],
		null,
	);
	const response = await nodeType.webhook!.call(context);
	if (
		response.noWebhookResponse !== true &&
		body === undefined &&
		response.webhookResponse !== undefined
	) {
		body = response.webhookResponse;
	}
	const started = response.workflowData?.[0];
	if (!started) return { status, body };
	// As n8n does next: an execution in "webhook" mode that starts at the trigger with those items.
	// Each delivery starts an execution of its own (its own execution ID).
	const execution = await executeFrom(setup.workflow, setup.node, started, 'webhook', {
		...setup.additionalData,
		executionId: `test-execution-${++executions}`,
	});
	const emitted = execution.outputs[0]?.length ? execution.outputs[0] : undefined;
	return { status, body, started, execution, emitted };
}

/**
 * Runs the execution a delivery starts, with `body` as the trigger's input, without the webhook's
 * checks: what n8n does when the webhook request let a delivery through ('manual': a test event;
 * the same `executionId` again: n8n running that execution again, as 1.x does after a worker died).
 */
export async function deliverAsExecution(
	setup: TriggerSetup,
	body: IDataObject,
	mode: 'manual' | 'webhook' = 'webhook',
	executionId = `test-execution-${++executions}`,
): Promise<ActionRun> {
	return await executeFrom(setup.workflow, setup.node, [{ json: body }], mode, {
		...setup.additionalData,
		executionId,
	});
}

/** Serialises anything the user could see, to search it for secrets. */
export function visible(value: unknown): string {
	const seen = new WeakSet<object>();
	return JSON.stringify(value, (_key, inner: unknown) => {
		if (inner instanceof Error) {
			const error = inner as Error & IDataObject;
			return {
				...error,
				message: error.message,
				stack: error.stack,
				description: error.description,
				cause: error.cause,
			};
		}
		if (inner && typeof inner === 'object') {
			if (seen.has(inner)) return '[circular]';
			seen.add(inner);
		}
		return inner;
	});
}
