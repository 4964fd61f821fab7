/** What a test POST got back: status and parsed JSON body (`{}` when the body was not JSON). */
export interface PostReply {
  status: number;
  json: Record<string, unknown>;
}

/**
 * POSTs `body` to `url`. With `chunked` the body is streamed without a
 * Content-Length, so the server learns its size only by reading it.
 */
export async function postBody(url: string, body: string, headers: Record<string, string>, chunked = false): Promise<PostReply> {
  const bytes = new TextEncoder().encode(body);
  const init: RequestInit & { duplex?: 'half' } = chunked
    ? {
        method: 'POST',
        headers,
        duplex: 'half',
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            for (let at = 0; at < bytes.byteLength; at += 64 * 1024) controller.enqueue(bytes.subarray(at, at + 64 * 1024));
            controller.close();
          },
        }),
      }
    : { method: 'POST', headers, body: bytes };
  const res = await fetch(url, init);
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON: the caller asserts on the status.
  }
  return { status: res.status, json };
}
