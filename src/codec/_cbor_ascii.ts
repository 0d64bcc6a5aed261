/**
 * Strings of up to 32 ASCII bytes in one `String.fromCharCode` call with exactly as many arguments:
 * a flat string in one step, faster than `fromCharCode.apply` on a byte view. (Joining shorter
 * pieces is about as fast but leaves a tree of pieces behind: half as much memory again for a
 * decoded table of rows, and the flattening is paid later by whoever reads the strings.)
 *
 * @module
 */

// Typed for what a Uint8Array index gives under noUncheckedIndexedAccess (the caller checked the bounds).
const f = String.fromCharCode as (...codes: (number | undefined)[]) => string;

/** The string of `length` (at most 32) bytes of `b` at `s`, each taken as a character code (the caller checked they are ASCII). */
// deno-fmt-ignore
export function asciiString(b: Uint8Array, s: number, length: number): string {
  switch (length) {
    case 0: return "";
    case 1: return f(b[s]);
    case 2: return f(b[s],b[s+1]);
    case 3: return f(b[s],b[s+1],b[s+2]);
    case 4: return f(b[s],b[s+1],b[s+2],b[s+3]);
    case 5: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4]);
    case 6: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5]);
    case 7: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6]);
    case 8: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7]);
    case 9: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8]);
    case 10: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9]);
    case 11: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10]);
    case 12: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11]);
    case 13: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12]);
    case 14: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13]);
    case 15: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14]);
    case 16: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15]);
    case 17: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16]);
    case 18: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17]);
    case 19: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18]);
    case 20: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18],b[s+19]);
    case 21: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18],b[s+19],b[s+20]);
    case 22: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18],b[s+19],b[s+20],b[s+21]);
    case 23: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18],b[s+19],b[s+20],b[s+21],b[s+22]);
    case 24: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18],b[s+19],b[s+20],b[s+21],b[s+22],b[s+23]);
    case 25: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18],b[s+19],b[s+20],b[s+21],b[s+22],b[s+23],b[s+24]);
    case 26: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18],b[s+19],b[s+20],b[s+21],b[s+22],b[s+23],b[s+24],b[s+25]);
    case 27: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18],b[s+19],b[s+20],b[s+21],b[s+22],b[s+23],b[s+24],b[s+25],b[s+26]);
    case 28: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18],b[s+19],b[s+20],b[s+21],b[s+22],b[s+23],b[s+24],b[s+25],b[s+26],b[s+27]);
    case 29: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18],b[s+19],b[s+20],b[s+21],b[s+22],b[s+23],b[s+24],b[s+25],b[s+26],b[s+27],b[s+28]);
    case 30: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18],b[s+19],b[s+20],b[s+21],b[s+22],b[s+23],b[s+24],b[s+25],b[s+26],b[s+27],b[s+28],b[s+29]);
    case 31: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18],b[s+19],b[s+20],b[s+21],b[s+22],b[s+23],b[s+24],b[s+25],b[s+26],b[s+27],b[s+28],b[s+29],b[s+30]);
    case 32: return f(b[s],b[s+1],b[s+2],b[s+3],b[s+4],b[s+5],b[s+6],b[s+7],b[s+8],b[s+9],b[s+10],b[s+11],b[s+12],b[s+13],b[s+14],b[s+15],b[s+16],b[s+17],b[s+18],b[s+19],b[s+20],b[s+21],b[s+22],b[s+23],b[s+24],b[s+25],b[s+26],b[s+27],b[s+28],b[s+29],b[s+30],b[s+31]);
    default: return f.apply(null, b.subarray(s, s + length) as unknown as number[]);
  }
}
