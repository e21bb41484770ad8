// The second leg of n8n's community-package scan: the compiled files that ship in the tarball.
import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';
import tseslint from 'typescript-eslint';

export default [
	n8nCommunityNodesPlugin.configs.recommended,
	{ rules: { 'no-console': 'error' } },
	{ files: ['**/*.json'], languageOptions: { parser: tseslint.parser } },
];
