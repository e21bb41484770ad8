/* Types of host.js: Node's modules and globals for the tests and benchmarks (see host.js). */
export declare const childProcess: typeof import('node:child_process');
export declare const fs: typeof import('node:fs');
export declare const http: typeof import('node:http');
export declare const os: typeof import('node:os');
export declare const path: typeof import('node:path');
export declare const process: NodeJS.Process;
export declare const setTimeout: typeof import('node:timers').setTimeout;
export declare const clearTimeout: typeof import('node:timers').clearTimeout;
export declare const setInterval: typeof import('node:timers').setInterval;
export declare const clearInterval: typeof import('node:timers').clearInterval;
/** Resolves after `ms` milliseconds. */
export declare function delay(ms: number): Promise<void>;
/** console.log, for benchmarks that print their figures. */
export declare function print(...args: unknown[]): void;
/** console.error. */
export declare function printError(...args: unknown[]): void;
/** Counts the timers created from now on that have neither fired nor been cleared (see host.js). */
export declare function timersFromNow(): { pending(): Promise<number>; stop(): void };
/** A full garbage collection when Node runs with --expose-gc; nothing otherwise. */
export declare function collectGarbage(): void;
/** The folder of the package's package.json. */
export declare const PACKAGE_ROOT: string;
/** A CommonJS module by id or path, at run time: built files (as n8n loads them), untyped packages. */
export declare function requireModule<T>(id: string): T;
