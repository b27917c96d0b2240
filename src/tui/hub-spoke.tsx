import { Box, Text } from 'ink';
import type { PathRow } from './tui-data';
import { SEVERITY_STYLE, severityOfRank } from './theme';

/** Paths that end at the API server (drawn on its left) and those it starts (on its right). */
const INBOUND: [string, string][] = [
  ['node-to-apiserver', 'nodes'],
  ['pod-to-apiserver', 'pods'],
  ['controlplane-to-apiserver', 'components'],
  ['konnectivity', 'konnectivity'],
];
const OUTBOUND: [string, string][] = [
  ['apiserver-to-kubelet', 'kubelets'],
  ['apiserver-proxy', 'proxy targets'],
  ['ssh-tunnel', 'ssh nodes'],
  ['apiserver-to-etcd', 'etcd'],
];

export interface HubSpokeProps {
  paths: PathRow[];
  width: number;
  /** Lines available. */
  height: number;
}

function spoke(p: PathRow | undefined, label: string, count: 'clients' | 'servers'): string | null {
  if (p === undefined) return null;
  return `${label} ×${p[count]} (${p.flows}) ${SEVERITY_STYLE[severityOfRank(p.worstRank)].symbol}`;
}

/** Builds the hub-and-spoke lines (pure, so tests can read it without rendering). */
export function hubSpokeLines(paths: PathRow[], width: number): string[] {
  const by = new Map(paths.map((p) => [p.path, p]));
  const left = INBOUND.map(([id, label]) => spoke(by.get(id), label, 'clients')).filter((s): s is string => s !== null);
  const right = OUTBOUND.map(([id, label]) => spoke(by.get(id), label, 'servers')).filter((s): s is string => s !== null);
  const lines: string[] = [];
  const rows = Math.max(left.length, right.length, 1);
  const side = Math.max(8, Math.floor((width - 24) / 2));
  for (let i = 0; i < rows; i++) {
    const l = left[i];
    const r = right[i];
    const hub = i === Math.floor((rows - 1) / 2) ? '[ API server ]' : '[            ]';
    const lt = l === undefined ? ''.padStart(side + 4) : `${l.slice(0, side).padStart(side)} ──▶`;
    const rt = r === undefined ? '' : `──▶ ${r.slice(0, side)}`;
    lines.push(`${lt} ${hub} ${rt}`.trimEnd());
  }
  const peer = by.get('etcd-peer');
  if (peer !== undefined) lines.push(`${'etcd'.padStart(side)} ◀─▶ etcd  peers ×${peer.servers} (${peer.flows}) ${SEVERITY_STYLE[severityOfRank(peer.worstRank)].symbol}`);
  return lines;
}

/** A text hub-and-spoke view centred on the API server: who talks to it, whom it talks to. */
export function HubSpoke({ paths, width, height }: HubSpokeProps) {
  const lines = hubSpokeLines(paths, width).slice(0, Math.max(0, height));
  return (
    <Box flexDirection="column" width={width}>
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate">
          {l}
        </Text>
      ))}
    </Box>
  );
}
