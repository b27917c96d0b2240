/** Minimal typing of pcap-parser (the test oracle for classic pcap), as its README describes it. */
declare module 'pcap-parser' {
  import type { EventEmitter } from 'node:events';
  import type { Readable } from 'node:stream';
  export function parse(input: string | Readable): EventEmitter;
  const pcapParser: { parse: typeof parse };
  export default pcapParser;
}
