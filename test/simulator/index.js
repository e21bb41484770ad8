'use strict';
/**
 * A local stand-in for the webscrape.ai API (the five endpoints of shared/smartbrowse-api.md) and
 * its webhook deliveries, with scripted faults and a request log. Tests, benchmarks and the demo
 * run against it; it listens on 127.0.0.1 only.
 */
const http = require('node:http');
const net = require('node:net');
const crypto = require('node:crypto');

const TEST_KEY = 'wsg_live_TESTkey0123456789abcdefghijklmno';

/**
 * A made-up key of the same shape for an account of a test's own, ending in its label (the log's
 * `account` is a key's last 6 characters): built, never written out, so no file holds a key.
 */
function fakeKey(label) {
	return `wsg_live_${'0123456789abcdefghijklmnopqrstuv'.slice(0, 32 - label.length)}${label}`;
}
const COST_PER_PAGE = 2;

let requestCounter = 0;
const requestId = () => `req_${(++requestCounter).toString(36).padStart(8, '0')}`;

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function opaqueId(random) {
	let id = '';
	for (let i = 0; i < 11; i++) id += BASE62[Math.floor(random() * 62)];
	return id;
}

/** Small seeded PRNG (mulberry32) so fault schedules and ids repeat run after run. */
function seededRandom(seed) {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function defaultItem(recipeId, page, index) {
	return {
		name: `Product ${page + 1}-${index + 1}`,
		price: Math.round((10 + page * 7 + index * 1.25) * 100) / 100,
		url: `https://shop.example/${recipeId}/p${page + 1}/${index + 1}`,
	};
}

const ERROR_MESSAGES = {
	invalid_request: 'malformed request',
	unauthorized: 'missing or invalid credentials',
	insufficient_credits: 'not enough credits to complete this request',
	email_verification_required: 'verify your email address before spending credits',
	forbidden: 'forbidden',
	not_found: 'not found',
	conflict: 'conflict',
	account_deletion_pending: 'account is scheduled for deletion — cancel to restore access',
	validation_failed: 'Output did not match the requested schema after one repair attempt.',
	rate_limited: 'rate limited',
	internal_error: 'internal error',
	service_unavailable: 'extraction service is unreachable',
};
const STATUS_OF_CODE = {
	invalid_request: 400,
	unauthorized: 401,
	insufficient_credits: 402,
	email_verification_required: 402,
	forbidden: 403,
	not_found: 404,
	conflict: 409,
	account_deletion_pending: 409,
	validation_failed: 422,
	rate_limited: 429,
	internal_error: 500,
	service_unavailable: 502,
};
const CREDIT_ROUTES = new Set(['dispatch', 'scrape', 'extract']);
const RATE_LIMIT_DETAILS = {
	rate_limit_per_min: { limit_per_min: 60, reason: 'rate_limit_per_min' },
	max_concurrent_requests: { max_concurrent: 5, reason: 'max_concurrent_requests' },
	sb_runs_per_month: { used: 50, limit: 50, window: '30d', reason: 'sb_runs_per_month' },
};

class Simulator {
	/**
	 * @param {object} [options]
	 * @param {number} [options.timeScale] run durations are divided by this (1 = real time)
	 * @param {number} [options.seed] seed of ids and random faults
	 */
	constructor(options = {}) {
		this.timeScale = options.timeScale ?? 1;
		this.random = seededRandom(options.seed ?? 42);
		this.accounts = new Map();
		this.recipes = new Map();
		this.runs = new Map();
		this.faults = [];
		this.randomFaults = undefined;
		this.faultPicker = undefined;
		this.log = [];
		this.deliveries = [];
		this.pendingDeliveries = new Set();
		this.timers = new Set();
		this.sockets = new Set();
		this.startedAt = Date.now();
		this.addKey(TEST_KEY);
		this.addRecipe('m3Yc2tFvN8q', { pages: 3, itemsPerPage: 4, durationMs: 1000 });
	}

	// ---- setup ---------------------------------------------------------------------------------

	addKey(key, account = {}) {
		this.accounts.set(key, {
			key,
			credits: account.credits ?? 500,
			runsUsed30d: account.runsUsed30d ?? 0,
			runsCap: account.runsCap ?? 1000,
			pagesPerRunCap: account.pagesPerRunCap ?? 200,
			schedulesCount: account.schedulesCount ?? 0,
			revoked: false,
			lastRun: null,
			// Plan throttles (unset: none). maxConcurrent counts runs in progress plus requests in
			// flight ('runs'), or only credit-spending requests in flight ('requests') — the docs
			// leave open which (gap 15). perMinute is a sliding 60 s window of accepted requests.
			maxConcurrent: account.maxConcurrent,
			concurrencyCounts: account.concurrencyCounts ?? 'runs',
			perMinute: account.perMinute,
			retryAfter: account.retryAfter ?? false,
			/** Delay before answering a credit-spending request (slow answers hold in-flight slots). */
			responseDelayMs: account.responseDelayMs ?? 0,
			accepted: [],
			inFlight: 0,
			occupied: 0,
			refused: { rate_limit_per_min: 0, max_concurrent_requests: 0 },
		});
		return this.accounts.get(key);
	}

	account(key = TEST_KEY) {
		return this.accounts.get(key);
	}

	/** Other workflows of the same account hold `count` concurrency slots for `ms`. */
	occupy(count, ms, key = TEST_KEY) {
		const account = this.accounts.get(key);
		account.occupied += count;
		this.later(ms, () => {
			account.occupied -= count;
		});
	}

	revokeKey(key) {
		const account = this.accounts.get(key);
		if (account) account.revoked = true;
	}

	/**
	 * @param {string} id
	 * @param {object} spec pages, itemsPerPage, durationMs, outcome ('completed' | 'failed' |
	 *   'cancelled'), error, drift, warnings, queuedMs, item(page, index), webhook {url, headers,
	 *   events, eventStyle ('plain' | 'prefixed')}
	 */
	addRecipe(id, spec = {}) {
		this.recipes.set(id, {
			pages: 1,
			itemsPerPage: 3,
			durationMs: 1000,
			outcome: 'completed',
			drift: 0.02,
			warnings: [],
			queuedMs: 0,
			...spec,
		});
		return this.recipes.get(id);
	}

	/**
	 * Scripts the next `times` requests to `route` ('dispatch' | 'run' | 'usage' | 'scrape' |
	 * 'extract' | '*') to fail. type: 'status' (status, code, details, message), 'rate_limited'
	 * (reason), 'reset-before' (socket destroyed before the request is processed), 'reset-after'
	 * (processed, then the socket is destroyed without an answer), 'slow' (delayMs, then normal),
	 * 'malformed' (processed, answered with truncated JSON), 'cut' (processed, half the answer
	 * sent, then the socket is destroyed), 'html' (status, an HTML page),
	 * 'plain401' (401 {"error": "..."}). retryAfter adds a Retry-After header.
	 */
	fault(spec) {
		this.faults.push({ route: '*', times: 1, ...spec });
	}

	/** Drops every fault not used up yet. */
	clearFaults() {
		this.faults = [];
	}

	/**
	 * Decides each request's fault with a function of its log entry (route, id, body, account), so a
	 * test can draw faults per item and attempt whatever order concurrent requests arrive in. It is
	 * asked before the scripted faults; undefined: no fault from it.
	 */
	faultWith(picker) {
		this.faultPicker = picker;
	}

	/**
	 * Stops accepting connections for `ms`: requests sent meanwhile are refused (ECONNREFUSED) and
	 * never reach the log; connections already open go on.
	 */
	refuseConnections(ms) {
		if (!this.server || this.refusing) return;
		const { port, handler } = { port: this.port, handler: this.server.listeners('request')[0] };
		this.refusing = true;
		// net.Server's close: stops listening but, unlike http.Server's, leaves idle keep-alive
		// connections open (closing them under a client that is reusing one is a reset, not a refusal).
		net.Server.prototype.close.call(this.server);
		this.later(ms, () => {
			const server = http.createServer(handler);
			this.adopt(server);
			server.listen(port, '127.0.0.1', () => {
				this.refusing = false;
			});
		});
	}

	/** Faults a share of all responses at random (seeded), for endurance runs. */
	faultRandomly(rate, kinds = ['rate_limited', 'status500', 'status502', 'reset', 'slow']) {
		this.randomFaults = { rate, kinds };
	}

	// ---- lifecycle -----------------------------------------------------------------------------

	async start(port = 0) {
		this.adopt(http.createServer((req, res) => this.handle(req, res)));
		await new Promise((resolve) => this.server.listen(port, '127.0.0.1', resolve));
		this.port = this.server.address().port;
		this.origin = `http://127.0.0.1:${this.port}`;
		this.baseUrl = `${this.origin}/v1`;
		return this.baseUrl;
	}

	adopt(server) {
		this.server = server;
		server.keepAliveTimeout = 5000;
		server.on('connection', (socket) => {
			this.sockets.add(socket);
			socket.on('close', () => this.sockets.delete(socket));
		});
	}

	async stop() {
		for (const timer of this.timers) clearTimeout(timer);
		this.timers.clear();
		await Promise.allSettled([...this.pendingDeliveries]);
		for (const socket of this.sockets) socket.destroy();
		if (this.server?.listening) await new Promise((resolve) => this.server.close(resolve));
		this.server = undefined;
	}

	later(ms, fn) {
		const timer = setTimeout(() => {
			this.timers.delete(timer);
			fn();
		}, ms);
		this.timers.add(timer);
	}

	// ---- queries for tests ---------------------------------------------------------------------

	requests(route) {
		return route ? this.log.filter((entry) => entry.route === route) : this.log.slice();
	}

	/** The most runs that were in progress at the same moment, from dispatch to their end. */
	maxConcurrentRuns() {
		const events = [];
		for (const run of this.runs.values()) {
			events.push([run.createdAt, 1], [run.endsAt, -1]);
		}
		events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
		let current = 0;
		let max = 0;
		for (const [, delta] of events) {
			current += delta;
			max = Math.max(max, current);
		}
		return max;
	}

	/** Whether every run overlapped every other one in time. */
	runsOverlapped() {
		const runs = [...this.runs.values()];
		const latestStart = Math.max(...runs.map((run) => run.createdAt));
		const earliestEnd = Math.min(...runs.map((run) => run.endsAt));
		return runs.length > 1 && latestStart < earliestEnd;
	}

	clearLog() {
		this.log = [];
		this.deliveries = [];
	}

	/** Creates a run that has already completed (for trigger benchmarks: no timers, no webhook). */
	seedCompletedRun(recipeId, key = TEST_KEY) {
		const recipe = this.recipes.get(recipeId);
		const now = Date.now();
		const run = {
			id: opaqueId(this.random),
			recipeId,
			key,
			createdAt: now - recipe.durationMs,
			queuedMs: 0,
			endsAt: now,
			outcome: recipe.outcome,
			error: recipe.error ?? 'target page did not load within timeout',
			pages: recipe.pages,
			failedPages: 0,
			itemsPerPage: recipe.itemsPerPage,
			drift: recipe.drift,
			warnings: recipe.warnings,
			effectiveCap: recipe.pages,
			item: recipe.item
				? (page, index) => recipe.item(page, index)
				: (page, index) => defaultItem(recipeId, page, index),
		};
		this.runs.set(run.id, run);
		return run;
	}

	// ---- runs ----------------------------------------------------------------------------------

	runStatus(run, now = Date.now()) {
		if (now >= run.endsAt) return run.outcome;
		if (now < run.createdAt + run.queuedMs) return 'queued';
		return 'running';
	}

	pagesSoFar(run, now = Date.now()) {
		if (now >= run.endsAt) return run.outcome === 'completed' ? run.pages : run.failedPages;
		const share = (now - run.createdAt) / Math.max(1, run.endsAt - run.createdAt);
		return Math.min(run.pages, Math.floor(run.pages * share));
	}

	runData(run) {
		const now = Date.now();
		const status = this.runStatus(run, now);
		const pages = this.pagesSoFar(run, now);
		const ended = now >= run.endsAt;
		const data = {
			id: run.id,
			recipe_id: run.recipeId,
			run_status: status,
			pages_extracted: pages,
			items_extracted: pages * run.itemsPerPage,
			credits_used: status === 'completed' ? pages * COST_PER_PAGE : 0,
			created_at: new Date(run.createdAt).toISOString(),
			started_at: status === 'queued' ? null : new Date(run.createdAt + run.queuedMs).toISOString(),
			completed_at: ended ? new Date(run.endsAt).toISOString() : null,
		};
		if (ended && status !== 'completed') data.error = run.error;
		if (ended && status === 'completed') data.result = '__RESULT__';
		return data;
	}

	/** The completed result, serialised once: large runs are polled without re-encoding them. */
	resultJson(run) {
		// A recipe marked `sameResult` returns the same rows every run: serialise them once for all.
		const recipe = this.recipes.get(run.recipeId);
		if (run.resultJson === undefined && recipe?.sameResult && recipe.resultJson !== undefined) {
			run.resultJson = recipe.resultJson;
		}
		if (run.resultJson === undefined) {
			const pages = [];
			for (let page = 0; page < run.pages; page++) {
				const items = [];
				for (let index = 0; index < run.itemsPerPage; index++) {
					items.push(run.item(page, index));
				}
				pages.push({ items });
			}
			run.resultJson = JSON.stringify({
				pages,
				mode: 'replay',
				drift: run.drift,
				warnings: run.warnings,
			});
			if (recipe?.sameResult) recipe.resultJson = run.resultJson;
		}
		return run.resultJson;
	}

	runEnvelopeJson(run, account) {
		const data = JSON.stringify(this.runData(run)).replace('"__RESULT__"', () =>
			this.resultJson(run),
		);
		return `{"status":"completed","request_id":"${requestId()}","data":${data},"credits_used":0,"credits_remaining":${account.credits}}`;
	}

	finishRun(run) {
		const account = this.accounts.get(run.key);
		if (run.outcome === 'completed') account.credits -= run.pages * COST_PER_PAGE;
		account.lastRun = run;
		const event = run.outcome;
		const recipe = this.recipes.get(run.recipeId);
		const hook = recipe && recipe.webhook;
		if (hook && (!hook.events || hook.events.length === 0 || hook.events.includes(event))) {
			this.deliver(run.id, { style: hook.eventStyle });
		}
	}

	webhookPayload(run, style = 'plain') {
		const completed = run.outcome === 'completed';
		return {
			event: style === 'prefixed' ? `smartbrowse.${run.outcome}` : run.outcome,
			timestamp: new Date(run.endsAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
			run_id: run.id,
			recipe_id: run.recipeId,
			status: run.outcome,
			pages_extracted: completed ? run.pages : 0,
			items_extracted: completed ? run.pages * run.itemsPerPage : 0,
			credits_used: completed ? run.pages * COST_PER_PAGE : 0,
			mode: completed ? 'replay' : '',
			drift: completed ? run.drift : 0,
			warnings: completed ? run.warnings : [],
			error: completed ? '' : run.error,
		};
	}

	/** POSTs the run's delivery to its recipe's webhook (again, when called by a test). */
	deliver(runId, options = {}) {
		const run = this.runs.get(runId);
		const recipe = this.recipes.get(run.recipeId);
		const hook = { ...(recipe.webhook || {}), ...options };
		const payload = options.payload ?? this.webhookPayload(run, hook.style ?? hook.eventStyle);
		const { request } = require('undici');
		const record = { runId, url: hook.url, payload, status: undefined, error: undefined };
		this.deliveries.push(record);
		const promise = request(hook.url, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...(hook.headers || {}) },
			body: JSON.stringify(payload),
		})
			.then(async (response) => {
				record.status = response.statusCode;
				record.responseBody = await response.body.text();
			})
			.catch((error) => {
				record.error = error.message;
			})
			.finally(() => this.pendingDeliveries.delete(promise));
		this.pendingDeliveries.add(promise);
		return promise;
	}

	async deliveriesSettled() {
		await Promise.allSettled([...this.pendingDeliveries]);
	}

	// ---- HTTP ----------------------------------------------------------------------------------

	route(method, path) {
		let match;
		if (method === 'POST' && (match = /^\/v1\/smartbrowse\/recipes\/([^/]+)\/run$/.exec(path))) {
			return { route: 'dispatch', id: decodeURIComponent(match[1]) };
		}
		if (method === 'GET' && (match = /^\/v1\/smartbrowse\/runs\/([^/]+)$/.exec(path))) {
			return { route: 'run', id: decodeURIComponent(match[1]) };
		}
		if (method === 'GET' && path === '/v1/smartbrowse/usage') return { route: 'usage' };
		if (method === 'POST' && path === '/v1/scrape') return { route: 'scrape' };
		if (method === 'POST' && path === '/v1/smartscraper') return { route: 'extract' };
		return { route: 'unknown' };
	}

	takeFault(route, entry) {
		const picked = this.faultPicker && entry ? this.faultPicker(entry) : undefined;
		if (picked) return picked;
		const index = this.faults.findIndex(
			(fault) => fault.times > 0 && (fault.route === '*' || fault.route === route),
		);
		if (index >= 0) {
			const fault = this.faults[index];
			fault.times--;
			if (fault.times === 0) this.faults.splice(index, 1);
			return fault;
		}
		if (this.randomFaults && route !== 'unknown' && this.random() < this.randomFaults.rate) {
			const kinds = this.randomFaults.kinds;
			const kind = kinds[Math.floor(this.random() * kinds.length)];
			if (kind === 'rate_limited') {
				return { type: 'rate_limited', reason: 'max_concurrent_requests', retryAfter: 0.05 };
			}
			if (kind === 'status500') return { type: 'status', status: 500, code: 'internal_error' };
			if (kind === 'status502') return { type: 'status', status: 502, code: 'service_unavailable' };
			if (kind === 'reset')
				return { type: route === 'run' || route === 'usage' ? 'reset-after' : 'reset-before' };
			if (kind === 'slow') return { type: 'slow', delayMs: 300 };
		}
		return undefined;
	}

	handle(req, res) {
		const chunks = [];
		req.on('data', (chunk) => chunks.push(chunk));
		req.on('end', () => {
			const url = new URL(req.url, 'http://127.0.0.1');
			const { route, id } = this.route(req.method, url.pathname);
			const rawBody = Buffer.concat(chunks).toString('utf8');
			const key = req.headers['x-api-key'];
			const entry = {
				at: Date.now(),
				t: Date.now() - this.startedAt,
				method: req.method,
				path: url.pathname,
				route,
				id,
				keyValid:
					typeof key === 'string' && this.accounts.has(key) && !this.accounts.get(key).revoked,
				// Which account sent it, without keeping the key: its last 6 characters.
				account: typeof key === 'string' ? key.slice(-6) : undefined,
				contentType: req.headers['content-type'],
				body: rawBody ? safeJson(rawBody) : undefined,
				status: undefined,
				fault: undefined,
			};
			this.log.push(entry);
			const fault = this.takeFault(route, entry);
			if (fault) entry.fault = fault.type;
			const respond = () => this.respond(req, res, entry, fault, key);
			if (fault && fault.type === 'slow') this.later(fault.delayMs ?? 1000, respond);
			else respond();
		});
	}

	send(res, entry, status, body, headers = {}) {
		entry.status = status;
		const text = typeof body === 'string' ? body : JSON.stringify(body);
		res.writeHead(status, {
			'content-type': 'application/json',
			'x-request-id': typeof body === 'object' && body.request_id ? body.request_id : requestId(),
			...headers,
		});
		res.end(text);
	}

	sendError(res, entry, code, extra = {}, headers = {}) {
		const error = { code, message: extra.message ?? ERROR_MESSAGES[code] ?? code };
		if (extra.details) error.details = extra.details;
		this.send(
			res,
			entry,
			extra.status ?? STATUS_OF_CODE[code] ?? 500,
			{
				status: 'error',
				error,
				request_id: requestId(),
			},
			headers,
		);
	}

	respond(req, res, entry, fault, key) {
		if (fault) {
			const headers =
				fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
			switch (fault.type) {
				case 'reset-before':
					entry.status = 'reset';
					req.socket.destroy();
					return;
				case 'status':
					// processed: webscrape.ai did the work, then the answer became an error (a 504
					// from a gateway that stopped waiting); answered below, once processed.
					if (fault.processed) break;
					return this.sendError(
						res,
						entry,
						fault.code ?? (fault.status >= 500 ? 'internal_error' : 'invalid_request'),
						{ status: fault.status, details: fault.details, message: fault.message },
						headers,
					);
				case 'rate_limited':
					return this.sendError(
						res,
						entry,
						'rate_limited',
						{ details: fault.details ?? RATE_LIMIT_DETAILS[fault.reason ?? 'rate_limit_per_min'] },
						headers,
					);
				case 'html':
					entry.status = fault.status ?? 502;
					res.writeHead(entry.status, { 'content-type': 'text/html', ...headers });
					res.end(
						'<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>',
					);
					return;
				case 'plain401':
					return this.send(res, entry, 401, { error: 'invalid api key' });
				default:
					break;
			}
		}
		const account = entry.keyValid ? this.accounts.get(key) : undefined;
		if (account && CREDIT_ROUTES.has(entry.route)) {
			const refusal = this.throttle(account);
			if (refusal)
				return this.sendError(res, entry, 'rate_limited', refusal.error, refusal.headers);
			return this.spend(account, entry, req, res, fault, key);
		}
		return this.answerRoute(req, res, entry, fault, key, account);
	}

	/** The plan's throttles, as the API applies them to credit-spending requests (1.7). */
	throttle(account) {
		const now = Date.now();
		if (account.perMinute !== undefined) {
			while (account.accepted.length && account.accepted[0] <= now - 60_000)
				account.accepted.shift();
			if (account.accepted.length >= account.perMinute) {
				account.refused.rate_limit_per_min++;
				const freeInMs =
					account.accepted[account.accepted.length - account.perMinute] + 60_000 - now;
				return {
					error: {
						message: 'rate limit exceeded for plan — upgrade plan or wait',
						details: { limit_per_min: account.perMinute, reason: 'rate_limit_per_min' },
					},
					headers: account.retryAfter
						? { 'retry-after': String(Math.max(1, Math.ceil(freeInMs / 1000))) }
						: {},
				};
			}
		}
		if (account.maxConcurrent !== undefined) {
			let busy = account.inFlight + account.occupied;
			if (account.concurrencyCounts === 'runs') {
				for (const run of this.runs.values()) {
					if (run.key === account.key && run.createdAt <= now && now < run.endsAt) busy++;
				}
			}
			if (busy >= account.maxConcurrent) {
				account.refused.max_concurrent_requests++;
				return {
					error: {
						message: 'too many in-flight requests for plan — upgrade plan or wait',
						details: { max_concurrent: account.maxConcurrent, reason: 'max_concurrent_requests' },
					},
					headers: {},
				};
			}
		}
		if (account.perMinute !== undefined) account.accepted.push(now);
		return undefined;
	}

	/** A credit-spending request holds an in-flight slot until it is answered. */
	spend(account, entry, req, res, fault, key) {
		account.inFlight++;
		let released = false;
		const release = () => {
			if (!released) account.inFlight--;
			released = true;
		};
		res.on('close', release);
		const go = () => this.answerRoute(req, res, entry, fault, key, account);
		if (account.responseDelayMs > 0) this.later(account.responseDelayMs, go);
		else go();
	}

	answerRoute(req, res, entry, fault, key, account) {
		const answer = (status, body) => {
			if (fault && fault.type === 'status' && fault.processed) {
				return this.sendError(res, entry, fault.code ?? 'gateway_timeout', {
					status: fault.status ?? 504,
					message: fault.message ?? 'upstream timed out',
				});
			}
			if (fault && fault.type === 'reset-after') {
				entry.status = 'reset';
				req.socket.destroy();
				return;
			}
			if (fault && fault.type === 'cut') {
				entry.status = 'cut';
				res.writeHead(status, { 'content-type': 'application/json' });
				const text = typeof body === 'string' ? body : JSON.stringify(body);
				res.write(text.slice(0, Math.max(1, Math.floor(text.length / 2))), () =>
					req.socket.destroy(),
				);
				return;
			}
			if (fault && fault.type === 'malformed') {
				entry.status = status;
				res.writeHead(status, { 'content-type': 'application/json' });
				const text = typeof body === 'string' ? body : JSON.stringify(body);
				res.end(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
				return;
			}
			this.send(res, entry, status, body);
		};
		if (!account) return this.sendError(res, entry, 'unauthorized');
		switch (entry.route) {
			case 'dispatch':
				return this.dispatch(entry, account, key, answer, res);
			case 'run': {
				const run = this.runs.get(entry.id);
				if (!run || run.key !== key)
					return this.sendError(res, entry, 'not_found', { message: 'run not found' });
				return answer(200, this.runEnvelopeJson(run, account));
			}
			case 'usage':
				return answer(200, {
					status: 'completed',
					request_id: requestId(),
					data: {
						runs_used_30d: account.runsUsed30d,
						runs_per_month_cap: account.runsCap,
						pages_per_run_cap: account.pagesPerRunCap,
						cost_per_page: COST_PER_PAGE,
						schedules_count: account.schedulesCount,
						schedules_allowed: true,
						last_run: account.lastRun
							? {
									id: account.lastRun.id,
									status: this.runStatus(account.lastRun),
									pages_extracted: this.pagesSoFar(account.lastRun),
									effective_cap: account.lastRun.effectiveCap,
									clamped_by_credits: account.lastRun.effectiveCap < account.pagesPerRunCap,
									created_at: new Date(account.lastRun.createdAt).toISOString(),
								}
							: null,
					},
					credits_used: 0,
					credits_remaining: account.credits,
				});
			case 'scrape':
				return this.scrape(entry, account, answer, res);
			case 'extract':
				return this.extract(entry, account, answer, res);
			default:
				return this.sendError(res, entry, 'not_found', { message: 'no such endpoint' });
		}
	}

	dispatch(entry, account, key, answer, res) {
		const recipe = this.recipes.get(entry.id);
		if (!recipe) return this.sendError(res, entry, 'not_found', { message: 'recipe not found' });
		if (account.runsUsed30d >= account.runsCap) {
			return this.sendError(res, entry, 'rate_limited', {
				message: 'smartbrowse run quota exceeded for plan — upgrade for more runs',
				details: {
					used: account.runsUsed30d,
					limit: account.runsCap,
					window: '30d',
					reason: 'sb_runs_per_month',
				},
			});
		}
		if (account.credits < COST_PER_PAGE) {
			return this.sendError(res, entry, 'insufficient_credits', {
				details: { balance: account.credits, required: COST_PER_PAGE },
			});
		}
		const now = Date.now();
		const effectiveCap = Math.min(
			account.pagesPerRunCap,
			Math.floor(account.credits / COST_PER_PAGE),
		);
		const duration = Math.max(1, Math.round(recipe.durationMs / this.timeScale));
		const run = {
			id: opaqueId(this.random),
			recipeId: entry.id,
			key,
			createdAt: now,
			queuedMs: Math.round(recipe.queuedMs / this.timeScale),
			endsAt: now + duration,
			outcome: recipe.outcome,
			error:
				recipe.error ??
				(recipe.outcome === 'cancelled'
					? 'run was force-stopped'
					: 'target page did not load within timeout'),
			pages: Math.min(recipe.pages, effectiveCap),
			failedPages: 0,
			itemsPerPage: recipe.itemsPerPage,
			drift: recipe.drift,
			warnings: recipe.warnings,
			effectiveCap,
			item: recipe.item
				? (page, index) => recipe.item(page, index)
				: (page, index) => defaultItem(entry.id, page, index),
		};
		this.runs.set(run.id, run);
		account.runsUsed30d++;
		entry.runId = run.id;
		this.later(duration, () => this.finishRun(run));
		return answer(202, {
			status: 'queued',
			data: {
				run_id: run.id,
				recipe_id: entry.id,
				run_status: 'running',
				poll_url: `/v1/smartbrowse/runs/${run.id}`,
				created_at: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
			},
			request_id: requestId(),
		});
	}

	charge(account, credits, res, entry) {
		if (account.credits < credits) {
			this.sendError(res, entry, 'insufficient_credits', {
				details: { balance: account.credits, required: credits },
			});
			return false;
		}
		account.credits -= credits;
		entry.credits = credits;
		return true;
	}

	validUrl(value) {
		try {
			const url = new URL(value);
			return url.protocol === 'http:' || url.protocol === 'https:';
		} catch {
			return false;
		}
	}

	scrape(entry, account, answer, res) {
		const body = entry.body;
		if (!body || typeof body !== 'object' || !this.validUrl(body.website_url)) {
			return this.sendError(res, entry, 'invalid_request', { message: 'website_url is required' });
		}
		const credits = 1 + (body.stealth ? 2 : 0);
		if (!this.charge(account, credits, res, entry)) return;
		const html = `<html><head><title>Example page</title></head><body><h1>Hello</h1><a href="https://example.com/a">A</a></body></html>`;
		answer(200, {
			status: 'completed',
			data: {
				request_id: `ext_${crypto.randomBytes(4).toString('hex')}`,
				html,
				cleaned: body.clean ? '# Hello\n\n[A](https://example.com/a)' : null,
				links: body.extract_links ? [{ url: 'https://example.com/a', text: 'A' }] : [],
				metadata: { title: 'Example page', description: null, language: 'en' },
				content_type: 'html',
				latency_ms: 12,
			},
			credits_used: credits,
			credits_remaining: account.credits,
			request_id: requestId(),
		});
	}

	extract(entry, account, answer, res) {
		const body = entry.body;
		if (!body || typeof body !== 'object' || !this.validUrl(body.website_url)) {
			return this.sendError(res, entry, 'invalid_request', { message: 'website_url is required' });
		}
		if (typeof body.user_prompt !== 'string' || body.user_prompt === '') {
			return this.sendError(res, entry, 'invalid_request', { message: 'user_prompt is required' });
		}
		const credits = 5 + (body.stealth ? 5 : 0);
		if (!this.charge(account, credits, res, entry)) return;
		let result;
		if (body.plain_text) result = `Answer to: ${body.user_prompt}`;
		else if (body.output_schema) result = exampleOf(body.output_schema);
		else result = { answer: `Answer to: ${body.user_prompt}` };
		answer(200, {
			status: 'completed',
			data: { request_id: `ext_${crypto.randomBytes(4).toString('hex')}`, result, latency_ms: 40 },
			credits_used: credits,
			credits_remaining: account.credits,
			request_id: requestId(),
		});
	}
}

function safeJson(text) {
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
}

/** A value that satisfies a (simple) JSON schema, as SmartScraper's validated output would. */
function exampleOf(schema) {
	if (!schema || typeof schema !== 'object') return null;
	switch (schema.type) {
		case 'object': {
			const out = {};
			for (const [name, sub] of Object.entries(schema.properties || {})) out[name] = exampleOf(sub);
			return out;
		}
		case 'array':
			return [exampleOf(schema.items || { type: 'string' })];
		case 'number':
		case 'integer':
			return 1;
		case 'boolean':
			return true;
		case 'string':
			return 'example';
		default:
			return null;
	}
}

module.exports = { Simulator, TEST_KEY, fakeKey, seededRandom };
