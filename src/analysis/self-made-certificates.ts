import type { CertificateInfo } from '../model/records';

/**
 * Certificates a Kubernetes server makes for itself when it is given none.
 *
 * k8s.io/client-go's cert helper makes a CA named `HOST-ca@UNIXTIME` and a serving certificate named
 * `HOST@UNIXTIME` signed by it (older versions: the serving certificate alone, self-signed). The
 * kubelet uses it with its node's name as HOST; k8s.io/apiserver uses it with `localhost` for a
 * server given no certificate: metrics-server (which listens on 10250, like a kubelet),
 * prometheus-adapter, admission webhooks and aggregated API servers, and the scheduler's and
 * controller manager's secure ports. A distribution's cluster CA may follow the CA's naming (k3s's
 * `k3s-server-ca@UNIXTIME` signs its kubelets' certificates, named after the node alone): only a CA
 * with the serving certificate's own HOST is the server's own.
 */
const SELF_MADE_CN = /^([A-Za-z0-9.-]+)@\d{9,}$/;
const SELF_MADE_CA_CN = /^([A-Za-z0-9.-]+)-ca@\d{9,}$/;

/** The HOST k8s.io/apiserver names the certificate it makes for a server given none. */
const APISERVER_LIBRARY_HOST = 'localhost';

/**
 * The node name in a kubelet's self-made serving certificate (`leaf` as presented, with the issuer
 * named in it), or null when it is not one.
 */
export function kubeletSelfMadeHost(leaf: CertificateInfo): string | null {
  const host = SELF_MADE_CN.exec(leaf.subjectCN ?? '')?.[1];
  if (host === undefined || host === APISERVER_LIBRARY_HOST) return null;
  return leaf.selfSigned || signedByOwnCa(leaf) ? host : null;
}

/** The certificate is signed by the CA its server made for itself (`HOST-ca@…` for its `HOST@…`). */
export function signedByOwnCa(leaf: CertificateInfo): boolean {
  const host = SELF_MADE_CN.exec(leaf.subjectCN ?? '')?.[1];
  return host !== undefined && SELF_MADE_CA_CN.exec(leaf.issuerCN ?? '')?.[1] === host;
}
