import { childProcess, process } from '../harness/host';

/** Runs one of the repo's scripts with Node and returns its exit code and everything it printed. */
export function runScript(script: string, args: string[]): { code: number; output: string } {
	try {
		const output = childProcess.execFileSync(process.execPath, [script, ...args], {
			encoding: 'utf8',
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		return { code: 0, output };
	} catch (error) {
		const failed = error as { status: number; stdout: string; stderr: string };
		return { code: failed.status, output: `${failed.stdout}${failed.stderr}` };
	}
}
