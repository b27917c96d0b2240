/** Runs the scenarios and writes samples, truth files, key logs, variants, inventory and CA bundle. */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { buildClusterFile, buildInventory } from './inventory.js';
import { CAPTURE_START_MS, Pki } from './pki.js';
import { Prng } from './prng.js';
import { ScenarioContext } from './scenario.js';
import { SCENARIOS } from './scenarios.js';
import type { SshKeys } from './stacks.js';
import type { TruthFile } from './truth.js';
import { writePcap, writePcapng } from './write-capture.js';

export const DEFAULT_SEED = 20260302;

/** The scenario whose variants (interfaces, SLL2, VLAN, VXLAN) are written. */
export const VARIANT_SCENARIO = 'kubelet-logs-exec-self-signed';
/** The scenario written once more as pcapng with its keys in a Decryption Secrets Block. */
/** Scenarios written once more as pcapng with their keys in a Decryption Secrets Block. */
export const DSB_SCENARIOS: readonly string[] = ['kubelet-logs-tls13', 'token-used-elsewhere', 'legacy-serviceaccount-token', 'credential-rejected'];

export interface GenerateOptions {
  seed?: number;
  /** The captures/ directory (samples/, keylogs/ and the top-level files go below it). */
  outDir: string;
  /** Where keys and certificates are kept (default outDir/pki). */
  pkiDir?: string;
  only?: string[];
  newPki?: boolean;
  /** Also write inventory, cluster file and CA bundle (default true). */
  clusterFiles?: boolean;
}

export interface GeneratedSample {
  name: string;
  files: string[];
  packets: number;
  truth: TruthFile;
  /** Per connection: signed sizes of each write (client +, server −) and frame count. */
  structure: { frames: number; endpoints: string[]; plaintext: number[][] };
}

function sshKeys(dir: string): SshKeys {
  const read = (name: string): string => {
    const path = join(dir, name);
    if (!existsSync(path)) writeFileSync(path, ssh2.utils.generateKeyPairSync('ed25519').private);
    return readFileSync(path, 'utf8');
  };
  return { hostKey: read('ssh-host-worker-1.key'), clientKey: read('ssh-client-apiserver.key') };
}

export async function generateSamples(o: GenerateOptions): Promise<GeneratedSample[]> {
  const seed = o.seed ?? DEFAULT_SEED;
  const pkiDir = o.pkiDir ?? join(o.outDir, 'pki');
  if (o.newPki) rmSync(pkiDir, { recursive: true, force: true });
  const pki = new Pki(pkiDir);
  const keys = sshKeys(pkiDir);
  const samples = join(o.outDir, 'samples');
  const keylogs = join(o.outDir, 'keylogs');
  mkdirSync(samples, { recursive: true });
  mkdirSync(keylogs, { recursive: true });
  const root = new Prng(seed);
  const out: GeneratedSample[] = [];
  for (let i = 0; i < SCENARIOS.length; i++) {
    const sc = SCENARIOS[i]!;
    if (o.only && !o.only.includes(sc.name)) continue;
    const ctx = new ScenarioContext(sc.name, root.fork(sc.name), pki, keys, (CAPTURE_START_MS + i * 60_000) * 1000);
    await sc.run(ctx);
    const files: string[] = [];
    const pcap = `${sc.name}.pcap`;
    writePcap(join(samples, pcap), ctx.cap.packets);
    files.push(pcap);
    const truth: TruthFile = { capture: pcap, scenario: sc.sentence, connections: ctx.truth };
    writeTruth(samples, sc.name, truth);
    const keyLog = ctx.cap.keyLog.length ? ctx.cap.keyLog.join('\n') + '\n' : '';
    if (keyLog) writeFileSync(join(keylogs, `${sc.name}.keys`), keyLog);
    if (sc.name === VARIANT_SCENARIO) {
      const variants: [string, () => void][] = [
        [`${sc.name}.two-interfaces.pcapng`, () => writePcapng(join(samples, `${sc.name}.two-interfaces.pcapng`), ctx.cap.packets, { twoInterfaces: true })],
        [`${sc.name}.sll2.pcap`, () => writePcap(join(samples, `${sc.name}.sll2.pcap`), ctx.cap.packets, 'sll2')],
        [`${sc.name}.vlan.pcap`, () => writePcap(join(samples, `${sc.name}.vlan.pcap`), ctx.cap.packets, 'vlan', { vlanId: 120 })],
        [`${sc.name}.vxlan.pcap`, () => writePcap(join(samples, `${sc.name}.vxlan.pcap`), ctx.cap.packets, 'vxlan', { vxlanSrc: '172.31.0.21', vxlanDst: '172.31.0.100', vni: 4242 })],
      ];
      for (const [file, write] of variants) {
        write();
        files.push(file);
        writeTruth(samples, file.replace(/\.pcap(ng)?$/, ''), { ...truth, capture: file, scenario: `${sc.sentence} (${variantLabel(file)})` });
      }
    }
    if (DSB_SCENARIOS.includes(sc.name) && keyLog) {
      const file = `${sc.name}.dsb.pcapng`;
      writePcapng(join(samples, file), ctx.cap.packets, { keyLog });
      files.push(file);
      writeTruth(samples, `${sc.name}.dsb`, decryptedTruth(truth, file));
    }
    out.push({
      name: sc.name, files, packets: ctx.cap.packets.length, truth,
      structure: {
        frames: ctx.cap.packets.length,
        endpoints: ctx.truth.map((t) => `${t.client}>${t.server}`),
        plaintext: ctx.connections.map((c) => c.plaintextSizes),
      },
    });
  }
  if (o.clusterFiles !== false) {
    writeFileSync(join(o.outDir, 'inventory.json'), JSON.stringify(buildInventory(), null, 2) + '\n');
    writeFileSync(join(o.outDir, 'planewatch-cluster.json'), JSON.stringify(buildClusterFile(), null, 2) + '\n');
    writeFileSync(join(o.outDir, 'cluster-ca.pem'), pki.get('ca').certPem + pki.get('etcd-ca').certPem);
  }
  return out;
}

function writeTruth(dir: string, base: string, t: TruthFile): void {
  writeFileSync(join(dir, `${base}.truth.json`), JSON.stringify(t, null, 2) + '\n');
}

function variantLabel(file: string): string {
  if (file.includes('two-interfaces')) return 'pcapng, client→server on an Ethernet interface in µs, server→client on a raw-IP interface in ns';
  if (file.includes('sll2')) return 'Linux SLL2 as written by tcpdump -i any';
  if (file.includes('vlan')) return '802.1Q VLAN 120';
  return 'VXLAN VNI 4242 between 172.31.0.21 and 172.31.0.100, as cloud traffic mirroring delivers it';
}

/** With the key log in the file, what TLS hides becomes visible: certificates, requests, operations. */
function decryptedTruth(t: TruthFile, file: string): TruthFile {
  return {
    capture: file,
    scenario: `${t.scenario} This copy carries the TLS key log in a Decryption Secrets Block.`,
    requiresDecryption: true,
    connections: t.connections.map((c) => ({
      ...c,
      pathDetail: c.actualOperation ? { operation: c.actualOperation } : c.pathDetail,
      // Self-signed worker-3@… leaf: once readable it does not chain to the cluster CA.
      findings: c.actualFindings ?? c.findings.map((f) => (f === 'kubelet-tls-indeterminate' ? 'kubelet-tls-unverified' : f)),
      tls: c.tls ? { ...c.tls, serverSubject: c.tls.actualServerSubject, clientSubject: c.tls.actualClientSubject ?? c.tls.clientSubject } : null,
      http: c.actualHttp ?? c.http,
    })),
  };
}
