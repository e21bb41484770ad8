import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

export class WebScrapeAiApi implements ICredentialType {
	name = 'webScrapeAiApi';

	displayName = 'WebScrape AI API';

	icon: Icon = {
		light: 'file:../nodes/WebScrapeAi/webscrapeai.svg',
		dark: 'file:../nodes/WebScrapeAi/webscrapeai.dark.svg',
	};

	documentationUrl = 'https://webscrape.ai/docs/concepts/authentication';

	properties: INodeProperties[] = [
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			placeholder: 'wsg_live_...',
			description:
				'Create a key in the webscrape.ai dashboard under API Keys. It is shown only once, so copy it when you create it.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://api.webscrape.ai/v1',
			description:
				'Leave as it is for webscrape.ai. Change it only for a proxy, a staging API or a local simulator; it must include the /v1 path.',
		},
		{
			displayName: 'Webhook Header Name',
			name: 'webhookHeaderName',
			type: 'string',
			default: 'Authorization',
			description:
				'Used only by the WebScrape AI Trigger: the name of the custom header you add to the recipe webhook in the webscrape.ai studio',
		},
		// A shared secret that authenticates deliveries, so it is masked; the rule only reads the name.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Webhook Header Value',
			name: 'webhookHeaderValue',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'Bearer a-long-random-secret',
			description:
				'Used only by the WebScrape AI Trigger. When set, deliveries must carry the header above with exactly this value, otherwise they are rejected with 401. Set the same header on the recipe webhook in the studio.',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			headers: {
				'X-API-Key': '={{$credentials.apiKey}}',
			},
		},
	};

	// Usage is free and not rate-limited, so testing a key costs nothing.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl.replace(/\\/+$/, "")}}',
			url: '/smartbrowse/usage',
			method: 'GET',
		},
	};
}
