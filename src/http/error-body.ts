/**
 * The API's error body (`{ error: { code, message } }`), in a module of its own so route
 * modules can use it without loading the HTTP app (fastify) into a queue worker.
 */
export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}
