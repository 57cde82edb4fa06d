// A module worker that reports whether the bare specifier `@mha/core` resolves inside a worker, i.e.
// whether the page's import map applies to workers (backend-ts's worker-web.js needs it to).
try {
  await import('@mha/core');
  postMessage('resolved');
} catch (error) {
  postMessage(`not resolved: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
}
