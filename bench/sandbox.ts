/** Placeholder benchmark (being built): see issues 5/6. */
export async function benchSandbox(): Promise<void> {
  // filled in by the issue that owns it
}
