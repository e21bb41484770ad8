// A run, from what the user chose to what n8n shows: the settings read from the node (settings.ts),
// the one waiting engine (waiting.ts), the items or the file an ended run becomes (output.ts,
// runFile.ts). Imports the transport and core/; no operation (README.md).
export * from './settings';
export * from './waiting';
export * from './output';
