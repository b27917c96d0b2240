/**
 * Endpoint roles folded into the groups the map draws. Role names come from topology learning; the
 * match is by keyword so a new, more specific role (e.g. "kubelet-worker") still lands in its group.
 */
export const ROLE_GROUPS = ['apiserver', 'node', 'etcd', 'control-plane', 'konnectivity', 'pod', 'service', 'user', 'other'] as const;
export type RoleGroup = (typeof ROLE_GROUPS)[number];

export function roleGroup(role: string | null | undefined): RoleGroup {
  const r = (role ?? '').toLowerCase();
  if (r.includes('konnectivity')) return 'konnectivity';
  if (r.includes('apiserver') || r.includes('api-server')) return 'apiserver';
  if (r.includes('etcd')) return 'etcd';
  if (r.includes('kubelet') || r === 'node' || r.startsWith('node') || r.includes('worker')) return 'node';
  if (r.includes('scheduler') || r.includes('controller') || r.includes('control-plane') || r.includes('controlplane')) return 'control-plane';
  if (r.includes('service') || r === 'svc') return 'service';
  if (r.includes('pod')) return 'pod';
  if (r === 'user') return 'user';
  return 'other';
}

/** Groups drawn as one node per address; the rest are drawn as one node per group (pods can be thousands). */
export function drawnPerAddress(g: RoleGroup): boolean {
  return g === 'apiserver' || g === 'node' || g === 'etcd' || g === 'control-plane' || g === 'konnectivity' || g === 'service' || g === 'user';
}
