import type { Command } from 'commander';
import { runLive, type LiveSource } from '../../live/live-session';
import { parseListen } from '../../live/udp-mirror-source';
import { DECODER_PORT, type MirrorKind } from '../../live/tunnel-frame';
import { terminalSafe } from '../../report/terminal-text';
import { DB_OPTION_HELP, EXIT, defaultDbPath } from '../db-path';
import { collect, DECODE_AS_HELP, decodeAsRule, positiveInt, positiveNumber } from '../option-parsers';
import { formatDecodeAs, type DecodeAsRule } from '../../decode/decode-as';
import { loadTui } from '../../tui/load-tui';

interface LiveCommandOptions {
  interface?: string;
  bpf?: string;
  stdin?: boolean;
  vxlan?: string;
  geneve?: string;
  tzsp?: string;
  db?: string;
  tui?: boolean;
  evidence?: string;
  write?: string;
  writeLimit?: number;
  ring?: number;
  idleTimeout?: number;
  maxFlows?: number;
  keepDuplicates?: boolean;
  decodeAs?: DecodeAsRule[];
  inventory?: string[];
  ca?: string[];
  accept?: string[];
  keylog?: string[];
}

/** Adds `live` to the program. */

export function registerLiveCommand(program: Command): void {
  program
    .command('live')
    .description('analyse live traffic: an interface (via tcpdump), a pcap stream on stdin, or mirrored traffic over UDP')
    .option('-i, --interface <iface>', 'capture on this interface with tcpdump (needs root or CAP_NET_RAW)')
    .option('--bpf <expr>', 'capture filter for -i (tcpdump syntax)')
    .option('--stdin', 'read a pcap or pcapng stream from standard input (tcpdump -w - | planewatch live --stdin)')
    .option('--vxlan <[addr:]port>', 'receive VXLAN-encapsulated mirrored traffic on this UDP port (e.g. 4789)')
    .option('--geneve <[addr:]port>', 'receive Geneve-encapsulated mirrored traffic (GCP Packet Mirroring, 6081)')
    .option('--tzsp <[addr:]port>', 'receive TZSP-encapsulated mirrored traffic (MikroTik, 37008)')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--tui', 'show the terminal dashboard on the live data')
    .option('--evidence <dir>', 'write the packets of every flow that raised a finding to DIR/<flow>.pcap')
    .option('-w, --write <file>', 'also write every packet analysed to FILE (pcapng, with the TLS secrets learned), where extract and the dashboard find the flows\' packets')
    .option('--write-limit <MB>', 'stop writing the --write file when it reaches this size, in MB (the capture goes on)', positiveNumber)
    .option('--ring <N>', 'with --write-limit: keep writing, to a ring of N files of that size (FILE_00001_f1.pcapng …, the oldest deleted), as dumpcap -b files:N', positiveInt)
    .option('--idle-timeout <seconds>', 'end flows idle this long', positiveNumber)
    .option('--max-flows <n>', 'flows kept in memory at most', positiveNumber)
    .option('--keep-duplicates', 'analyse copies of a packet seen on several interfaces (tcpdump -i any) as packets of their own')
    .option('-d, --decode-as <rule>', DECODE_AS_HELP, decodeAsRule)
    .option('--inventory <file>', 'kubectl get nodes,pods,services -A -o json output, or a planewatch cluster file (repeatable)', collect)
    .option('--ca <file>', 'PEM CA bundle to verify certificates against: cluster CA, etcd CA (repeatable)', collect)
    .option('--keylog <file>', 'TLS key log (SSLKEYLOGFILE format) to decrypt with, followed as clients append to it (repeatable)', collect)
    .option('--accept <file>', 'findings accepted as risks (YAML; see the README): kept apart from the open ones (repeatable)', collect)
    .action(async (opts: LiveCommandOptions) => {
      process.exitCode = await runLiveCommand(opts);
    });
}

function pickSource(opts: LiveCommandOptions): LiveSource | string {
  const chosen: LiveSource[] = [];
  if (opts.interface !== undefined) chosen.push({ kind: 'iface', iface: opts.interface, bpf: opts.bpf });
  if (opts.stdin) chosen.push({ kind: 'stdin' });
  for (const kind of ['vxlan', 'geneve', 'tzsp'] as MirrorKind[]) {
    const text = opts[kind];
    if (text === undefined) continue;
    const listen = parseListen(kind, text);
    if (listen === null) return `--${kind}: expected [ADDR:]PORT, got ${terminalSafe(text, 80)}`;
    chosen.push({ kind: 'udp', listen });
  }
  if (chosen.length !== 1) return 'choose exactly one source: -i IFACE, --stdin, --vxlan, --geneve or --tzsp';
  if (opts.bpf !== undefined && opts.interface === undefined) return '--bpf applies to -i only';
  // A mirror listener hands its datagrams to the decoder as UDP to the tunnel's standard port.
  const mirror = chosen[0]!.kind === 'udp' ? chosen[0]!.listen.kind : null;
  const clash = mirror === null ? undefined : opts.decodeAs?.find((r) => r.transport === 'udp' && r.port === DECODER_PORT[mirror] && r.kind !== mirror);
  if (mirror !== null && clash !== undefined) {
    return `--decode-as ${formatDecodeAs(clash)} would stop --${mirror} from decoding what it receives (its datagrams are decoded as UDP port ${clash.port})`;
  }
  if (opts.write === '-') return '--write needs a file name (standard output is not a capture here)';
  if (opts.writeLimit !== undefined && opts.write === undefined) return '--write-limit applies to --write only';
  if (opts.ring !== undefined && opts.writeLimit === undefined) return '--ring needs --write FILE and --write-limit MB (the size of each file)';
  return chosen[0]!;
}

export async function runLiveCommand(opts: LiveCommandOptions): Promise<number> {
  const source = pickSource(opts);
  if (typeof source === 'string') {
    process.stderr.write(`planewatch: ${source}\n`);
    return EXIT.USAGE;
  }
  if (opts.tui && (!process.stdin.isTTY || !process.stdout.isTTY)) {
    process.stderr.write('planewatch: --tui needs a terminal; with --stdin, use --db and run `planewatch tui` in another terminal\n');
    return EXIT.USAGE;
  }
  const db = opts.db ?? defaultDbPath();
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    // A second Ctrl-C means "now": the database stays consistent (WAL), only the last batch is lost.
    if (signals > 1) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const tuiLines: string[] = [];
  const log = opts.tui ? (l: string) => void tuiLines.push(l) : (l: string) => void process.stderr.write(`${terminalSafe(l, 500)}\n`);
  let stopTui: (() => Promise<void>) | null = null;
  try {
    const running = runLive({
      db,
      source,
      idleTimeout: opts.idleTimeout,
      maxFlows: opts.maxFlows,
      keepDuplicates: opts.keepDuplicates,
      decodeAs: opts.decodeAs,
      evidenceDir: opts.evidence,
      writeFile: opts.write,
      writeLimit: opts.writeLimit === undefined ? undefined : opts.writeLimit * 1e6,
      writeRing: opts.ring,
      inventory: opts.inventory,
      ca: opts.ca,
      accept: opts.accept,
      keyLogFiles: opts.keylog,
      signal: controller.signal,
      log,
    });
    if (opts.tui) {
      // The store exists once runLive has started (it opens it synchronously).
      const startTui = await loadTui();
      const tui = startTui({ db, keyLogFiles: opts.keylog ?? [], onQuit: () => controller.abort() });
      stopTui = tui.stop;
    }
    const r = await running;
    if (stopTui !== null) await stopTui();
    for (const l of tuiLines.slice(-20)) process.stderr.write(`${terminalSafe(l, 500)}\n`);
    if (r.failure !== null) {
      process.stderr.write(`planewatch: ${terminalSafe(r.failure, 500)}\n`);
      return EXIT.ERROR;
    }
    process.stderr.write(
      `planewatch: ${r.packets} packets, ${r.flows} flows, kernel drops ${r.kernelDrops}, our drops ${r.ourDrops}` +
        `${opts.evidence ? `, ${r.evidenceFiles} evidence files` : ''}` +
        `${r.packetsWritten !== null ? `, ${r.packetsWritten} packets written to ${opts.ring !== undefined ? 'the ring of files ' : ''}${terminalSafe(opts.write!, 300)}` : ''} → ${terminalSafe(db, 300)}\n`,
    );
    return EXIT.OK;
  } catch (e) {
    if (stopTui !== null) await stopTui();
    process.stderr.write(`planewatch: ${terminalSafe(e instanceof Error ? e.message : String(e), 500)}\n`);
    return EXIT.ERROR;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
