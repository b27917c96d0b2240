/**
 * Rows of the findings and certificates tables as the API returns them: one SELECT list and one mapper
 * each, shared by the list endpoints and the flow detail.
 */
import { OTHER_VIEW_RAISED_IT } from '../store/nat-repeats';
import { parseJson } from './statements';

export interface FindingRow {
  id: number; rule: string; severity: string; title: string; evidence: string; recommendation: string; reference: string;
  cis: string | null; ts: number | null; frame: number | null; flow_id: number | null; path: string | null;
  client_ip: string | null; client_port: number | null; server_ip: string | null; server_port: number | null; app: string | null;
  nat_repeat: number | null;
  /** Accepted findings only. */
  reason?: string; until?: string | null; accepted_by?: string;
}

/**
 * `nat_repeat`: the finding is on the second view of a connection seen on both sides of a NAT, whose
 * first view raised the same rule (as store/nat-repeats counts them); looked up only on such a view.
 */
export const FINDING_SELECT = `SELECT f.id, f.rule, f.severity, f.title, f.evidence, f.recommendation, f.reference, f.cis, f.ts,
  f.frame, f.flow_id, fl.path, fl.client_ip, fl.client_port, fl.server_ip, fl.server_port, fl.app,
  CASE WHEN fl.nat_repeat = 1 AND fl.nat_link IS NOT NULL THEN ${OTHER_VIEW_RAISED_IT} ELSE 0 END AS nat_repeat
  FROM findings f LEFT JOIN flows fl ON fl.id = f.flow_id`;

/** The same for findings accepted as risks (their ids are their own, apart from the open findings'). */
export const ACCEPTED_FINDING_SELECT = `SELECT f.id, f.rule, f.severity, f.title, f.evidence, f.recommendation, f.reference, f.cis, f.ts,
  f.frame, f.flow_id, fl.path, fl.client_ip, fl.client_port, fl.server_ip, fl.server_port, fl.app, 0 AS nat_repeat,
  f.reason, f.until, f.accepted_by
  FROM accepted_findings f LEFT JOIN flows fl ON fl.id = f.flow_id`;

export function findingItemFromRow(r: FindingRow) {
  return {
    id: r.id, rule: r.rule, severity: r.severity, title: r.title, evidence: r.evidence, recommendation: r.recommendation,
    reference: r.reference, cis: r.cis, ts: r.ts, frame: r.frame, flowId: r.flow_id, path: r.path, clientIp: r.client_ip,
    clientPort: r.client_port, serverIp: r.server_ip, serverPort: r.server_port, app: r.app, natRepeat: r.nat_repeat === 1,
    acceptance: r.accepted_by === undefined ? null : { reason: r.reason ?? '', until: r.until ?? null, source: r.accepted_by },
  };
}
export type FindingItem = ReturnType<typeof findingItemFromRow>;

export interface CertificateRow {
  sha256: string; sha1: string; subject: string; issuer: string; subject_cn: string | null; issuer_cn: string | null;
  san: string; serial: string | null; not_before: string | null; not_after: string | null; key_type: string | null;
  key_bits: number | null; signature_algorithm: string | null; self_signed: number; is_ca: number;
}

export const CERT_COLUMNS = `c.sha256, c.sha1, c.subject, c.issuer, c.subject_cn, c.issuer_cn, c.san, c.serial, c.not_before,
  c.not_after, c.key_type, c.key_bits, c.signature_algorithm, c.self_signed, c.is_ca`;

export function certificateFromRow(r: CertificateRow) {
  return {
    sha256: r.sha256, sha1: r.sha1, subject: r.subject, issuer: r.issuer, subjectCn: r.subject_cn, issuerCn: r.issuer_cn,
    san: parseJson<string[]>(r.san, []), serial: r.serial, notBefore: r.not_before, notAfter: r.not_after,
    keyType: r.key_type, keyBits: r.key_bits, signatureAlgorithm: r.signature_algorithm, selfSigned: r.self_signed === 1,
    isCa: r.is_ca === 1,
  };
}
export type CertificateItem = ReturnType<typeof certificateFromRow>;
