import type { INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

const ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/**
 * Why a call was refused before anything was sent: a value of the call (`input`, which a caller
 * can correct and send again), a setting of the node (`setting`), or the account's state
 * (`account`, such as the 30-day quota: the same call is refused again until it changes).
 */
export type RefusalCause = 'input' | 'setting' | 'account';

/** Errors raised before anything was sent for their item: nothing reached webscrape.ai. */
const refusedBeforeSending = new WeakMap<object, RefusalCause>();

/** Marks `error` as raised before anything was sent (bad input, a check before the batch). */
export function markRefusedBeforeSending<E extends object>(
	error: E,
	cause: RefusalCause = 'input',
): E {
	refusedBeforeSending.set(error, cause);
	return error;
}

/** Why `error` was refused before anything was sent, or undefined when something may have been. */
export function refusalCauseOf(error: unknown): RefusalCause | undefined {
	return typeof error === 'object' && error !== null ? refusedBeforeSending.get(error) : undefined;
}

/**
 * Recipe and run ids are opaque base62 strings. Anything else (a slash, "..", a space) could
 * change the request path, so it is refused before any request is sent.
 */
export function validateId(node: INode, value: unknown, field: string, itemIndex: number): string {
	const id =
		typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
	if (id === '') {
		throw new NodeOperationError(node, `${field} is empty [item ${itemIndex}]`, {
			itemIndex,
			description: `Set "${field}" for this item. Copy it from the webscrape.ai studio or from an earlier node's output.`,
		});
	}
	if (!ID_PATTERN.test(id)) {
		throw new NodeOperationError(
			node,
			`${field} "${id.length > 40 ? `${id.slice(0, 40)}…` : id}" is not a valid ID [item ${itemIndex}]`,
			{
				itemIndex,
				description: `webscrape.ai IDs contain only letters, digits, "-" and "_" (for example m3Yc2tFvN8q).`,
			},
		);
	}
	return id;
}

/** Checks a numeric option and names it, so a bad value fails before any request. */
export function numberOption(
	node: INode,
	value: unknown,
	field: string,
	itemIndex: number,
	limits: { min?: number; max?: number; integer?: boolean; minExclusive?: boolean },
	fallback: number,
): number {
	if (value === undefined || value === null || value === '') return fallback;
	const number = typeof value === 'number' ? value : Number(value);
	const fail = (rule: string) =>
		new NodeOperationError(
			node,
			`Option "${field}" ${rule} (got ${JSON.stringify(value)}) [item ${itemIndex}]`,
			{
				itemIndex,
			},
		);
	if (!Number.isFinite(number)) throw fail('must be a number');
	if (limits.integer && !Number.isInteger(number)) throw fail('must be a whole number');
	if (limits.min !== undefined) {
		if (limits.minExclusive ? number <= limits.min : number < limits.min) {
			throw fail(`must be ${limits.minExclusive ? 'greater than' : 'at least'} ${limits.min}`);
		}
	}
	if (limits.max !== undefined && number > limits.max) throw fail(`must be at most ${limits.max}`);
	return number;
}
