import { describe, expect, it } from 'vitest';
import { analyzeJson } from '../golden/compare';

/** The `--json` contract (DESIGN.md §3.3): minimum fields and their types. */
describe('analyze --json contract', () => {
  const out = analyzeJson('kubelet-logs-exec-self-signed.pcap');

  it('has captures, flows and findings with the contract fields', () => {
    expect(out.captures[0]).toMatchObject({ file: expect.stringContaining('kubelet-logs-exec-self-signed.pcap'), format: 'pcap', packets: expect.any(Number), anomalies: expect.any(Object) });
    const f = out.flows.find((x: any) => x.app === 'tls');
    expect(f).toMatchObject({
      id: expect.any(String),
      communityId: expect.stringMatching(/^1:[A-Za-z0-9+/]+=*$/),
      client: { ip: expect.any(String), port: expect.any(Number) },
      server: { ip: '10.0.0.21', port: 10250 },
      app: 'tls',
      path: 'apiserver-to-kubelet',
      pathDetail: { operation: 'unknown' },
      confidence: expect.any(Number),
      reasons: expect.arrayContaining([expect.any(String)]),
      findings: expect.arrayContaining(['kubelet-tls-unverified']),
    });
    expect(f.tls).toMatchObject({ version: '1.2', alpn: expect.any(Array), cipher: expect.any(String), ja3: expect.stringMatching(/^[0-9a-f]{32}$/), ja4: expect.any(String), clientCertRequested: true, alerts: expect.any(Array) });
    expect(f.tls.alerts.filter((a: any) => a.level === 'fatal')).toEqual([]);
    expect(f.tls.serverCertificates[0]).toMatchObject({ subject: 'CN=worker-1@1756684800', issuer: 'CN=worker-1-ca@1756684800', san: expect.any(Array), sha256: expect.stringMatching(/^[0-9a-f]{64}$/), selfSigned: false, notBefore: expect.any(String), notAfter: expect.any(String) });
    expect(f.tls.serverCertificates[0].der).toBeUndefined();
    expect(['1.0', '1.1', '1.2', '1.3', 'ssl3']).toContain(f.tls.version);
    const finding = out.findings.find((x: any) => x.rule === 'kubelet-tls-unverified');
    expect(finding).toMatchObject({ severity: 'high', flowId: expect.any(String), title: expect.any(String), evidence: expect.stringContaining("kubelet's own CA"), recommendation: expect.any(String), reference: expect.stringContaining('kubernetes.io/docs/concepts/architecture/control-plane-node-communication/#api-server-to-kubelet') });
  });

  it('shows HTTP requests with the auth scheme, never the credential', () => {
    const o = analyzeJson('bearer-token-cleartext.pcap');
    const f = o.flows.find((x: any) => x.http.length > 0);
    expect(f.http[0]).toMatchObject({ method: expect.any(String), path: expect.any(String), auth: 'bearer', authHash: expect.stringMatching(/^sha256:[0-9a-f]{16}$/) });
    expect(JSON.stringify(o)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/); // no JWT-shaped token anywhere
    // whose it is, from its claims
    expect(f.http[0].authIdentity).toMatchObject({ kind: 'serviceaccount', subject: 'system:serviceaccount:ci:runner', namespace: 'ci', serviceAccount: 'runner' });
  });

  it('shows SSH banners and HASSH', () => {
    const o = analyzeJson('ssh-tunnel.pcap');
    const f = o.flows.find((x: any) => x.app === 'ssh');
    expect(f.ssh).toMatchObject({ clientBanner: expect.stringMatching(/^SSH-2\.0-/), serverBanner: expect.stringMatching(/^SSH-2\.0-/), hassh: expect.stringMatching(/^[0-9a-f]{32}$/), hasshServer: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });
});
