/** Names of LINKTYPE_* values for reports (https://www.tcpdump.org/linktypes.html). */
export const LINK_TYPE_NAMES: Record<number, string> = {
  0: 'null',
  1: 'ethernet',
  12: 'raw',
  14: 'raw',
  101: 'raw',
  108: 'loop',
  113: 'linux-sll',
  228: 'ipv4',
  229: 'ipv6',
  239: 'nflog',
  276: 'linux-sll2',
};
