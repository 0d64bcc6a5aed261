/**
 * What tsconfig.core.json and tsconfig.build.json see of "ioredis" (mapped by `paths`): its real
 * declarations pull in Node's global types, which the library's web-standard type check must not
 * have. src/stores/_redis_connect.ts describes the part it uses structurally, so `unknown` is
 * enough here; tsconfig.json (tests) sees the real declarations.
 *
 * @module
 */
export declare const Redis: unknown;
export declare const Cluster: unknown;
declare const _default: unknown;
export default _default;
