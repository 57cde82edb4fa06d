// Test-only: the built package, for tests that need real worker threads (they load dist/worker-node.js).
// Imported by URL so type-checking the sources does not depend on a build; typed as the sources.

/** The public API of the built package (`dist/index.js`), built by `build-dist.ts` before the tests. */
export async function importBuilt(): Promise<typeof import('../index.js')> {
  return (await import(/* @vite-ignore */ new URL('../../dist/index.js', import.meta.url).href)) as typeof import('../index.js');
}
