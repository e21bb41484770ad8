// Imported first: n8n-core writes its config under N8N_USER_FOLDER (default ~/.n8n).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

if (!process.env.N8N_USER_FOLDER) {
	process.env.N8N_USER_FOLDER = fs.mkdtempSync(path.join(os.tmpdir(), 'wsai-bench-'));
}
