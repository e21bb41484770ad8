import { NodeConnectionTypes } from 'n8n-workflow';

/**
 * The main connection type, for the nodes' inputs and outputs. n8n before 1.85 (n8n-workflow before
 * 1.83) has no NodeConnectionTypes, and reading `.Main` from it failed the nodes' load there: where
 * the export is missing, its value is used (scripts/compat-check.js lists this fallback).
 */
export const MAIN_CONNECTION: typeof NodeConnectionTypes.Main =
	typeof NodeConnectionTypes === 'object' ? NodeConnectionTypes.Main : 'main';
