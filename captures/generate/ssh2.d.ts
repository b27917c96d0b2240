// Minimal typings for the parts of ssh2 the generator uses (the package ships none).
declare module 'ssh2' {
  import { Duplex } from 'node:stream';
  import { EventEmitter } from 'node:events';
  export class Client extends EventEmitter {
    connect(cfg: Record<string, unknown>): this;
    forwardOut(srcIP: string, srcPort: number, dstIP: string, dstPort: number, cb: (err: Error | undefined, stream: Duplex) => void): this;
    end(): this;
  }
  export class Server extends EventEmitter {
    constructor(cfg: Record<string, unknown>, listener?: (client: any) => void);
    injectSocket(socket: Duplex): void;
  }
  export const utils: {
    generateKeyPairSync(type: string, opts?: Record<string, unknown>): { private: string; public: string };
  };
  const ssh2: { Client: typeof Client; Server: typeof Server; utils: typeof utils };
  export default ssh2;
}
