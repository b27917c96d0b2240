/** Classification and findings: what planewatch concludes from the evidence. */

export const PATH_IDS = [
  'node-to-apiserver',
  'pod-to-apiserver',
  'controlplane-to-apiserver',
  'apiserver-to-kubelet',
  'apiserver-proxy',
  'ssh-tunnel',
  'konnectivity',
  'apiserver-to-etcd',
  'etcd-peer',
  'other',
] as const;
export type PathId = (typeof PATH_IDS)[number];

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is worse; used for sorting and "worst finding" colouring. */
export function severityRank(s: Severity | null | undefined): number {
  switch (s) {
    case 'critical':
      return 5;
    case 'high':
      return 4;
    case 'medium':
      return 3;
    case 'low':
      return 2;
    case 'info':
      return 1;
    default:
      return 0;
  }
}

export interface Classification {
  path: PathId;
  pathDetail: Record<string, string>;
  confidence: number;
  reasons: string[];
}

export interface Finding {
  rule: string;
  severity: Severity;
  /** Flow the finding is about (null for endpoint-level findings such as cert-changed summaries). */
  flowId: string | null;
  title: string;
  evidence: string;
  recommendation: string;
  /** Link to the documentation section the rule rests on. */
  reference: string;
  /** CIS Kubernetes Benchmark item, where one exists. */
  cis: string | null;
  ts: number | null;
  frame: number | null;
}

/** Why a finding is accepted as a risk (an entry of an `--accept` file, see analysis/acceptances.ts). */
export interface Acceptance {
  /** Why the risk is accepted, as the entry says. */
  reason: string;
  /** When the acceptance ends (ISO 8601, or the last day), or null. */
  until: string | null;
  /** The entry: `file#n`, n counting the file's entries from 1. */
  source: string;
}

/** A finding an accept entry matches: still raised and stored, not counted among the open ones. */
export interface AcceptedFinding extends Finding {
  acceptance: Acceptance;
}

/** What classification concludes about one flow. */
export interface Verdict {
  classification: Classification;
  /** The open findings. */
  findings: Finding[];
  /** Findings accepted as risks (`--accept`). */
  accepted: AcceptedFinding[];
}
