/**
 * Types of `parse-prometheus-text-format` (a devDependency, which ships none): its output is
 * prom2json's, every value a string.
 */
declare module "parse-prometheus-text-format" {
  /** One series (or, for a summary, its quantiles with `sum` and `count`). */
  export interface PrometheusSample {
    readonly labels?: Readonly<Record<string, string>>;
    readonly value?: string;
    readonly quantiles?: Readonly<Record<string, string>>;
    readonly sum?: string;
    readonly count?: string;
  }
  /** One metric family. */
  export interface PrometheusFamily {
    readonly name: string;
    readonly help: string;
    /** Upper case: COUNTER, GAUGE, SUMMARY, HISTOGRAM, UNTYPED. */
    readonly type: string;
    readonly metrics: readonly PrometheusSample[];
  }
  /** Parses the text exposition format; throws on a malformed line. */
  export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
