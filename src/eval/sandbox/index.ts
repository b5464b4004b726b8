/**
 * The execution sandbox for untrusted Python (issue 5). (First version: signatures only.)
 */
export type ExecStatus = "passed" | "failed" | "timeout" | "error" | "killed";
export interface ExecResult { status: ExecStatus; reason: string; ms: number }
export interface ExecutorOptions { workers?: number; memoryMb?: number; unsafeNoSandbox?: boolean; onWarning?: (message: string) => void }

export class Executor {
  readonly protections: string[] = [];
  private constructor() {}
  static async create(_opts: ExecutorOptions = {}): Promise<Executor> { return new Executor(); }
  async run(_source: string, _opts: { timeoutMs: number }): Promise<ExecResult> {
    return { status: "error", reason: "not implemented yet", ms: 0 };
  }
  async close(): Promise<void> {}
}
