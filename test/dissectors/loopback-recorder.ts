/** A loopback TCP relay that records what each side sent, for tests that need real conversations. */
import net from 'node:net';
import type { Direction } from '../../src/flow/direction';

export interface Chunk {
  dir: Direction;
  bytes: Uint8Array;
}

export interface Recorder {
  port: number;
  /** Every chunk relayed so far, client (0) and server (1), in arrival order. */
  chunks: Chunk[];
  close: () => Promise<void>;
}

/** Listens on 127.0.0.1 (a free port) and relays each connection to 127.0.0.1:`target`. */
export function recordingProxy(target: number): Promise<Recorder> {
  const chunks: Chunk[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (b: Buffer) => {
      chunks.push({ dir: 0, bytes: new Uint8Array(b) });
      upstream.write(b);
    });
    upstream.on('data', (b: Buffer) => {
      chunks.push({ dir: 1, bytes: new Uint8Array(b) });
      client.write(b);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        chunks,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
