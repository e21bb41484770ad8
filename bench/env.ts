// Imported first: n8n-core writes its config under N8N_USER_FOLDER (default ~/.n8n).
import { fs, os, path, process } from '../test/harness/host';

if (!process.env.N8N_USER_FOLDER) {
	process.env.N8N_USER_FOLDER = fs.mkdtempSync(path.join(os.tmpdir(), 'wsai-bench-'));
}
