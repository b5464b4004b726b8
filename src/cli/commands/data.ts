/** Placeholder: `codellama data` is being built (issues 5/6). */
import type { Command } from "commander";

export function register(_program: Command): void {
  // registered once the command exists
}
