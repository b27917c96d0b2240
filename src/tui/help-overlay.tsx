import { Box, Text } from 'ink';

export const HELP_LINES: [string, string][] = [
  ['1-5, Tab, ←/→', 'switch tab (Overview, Findings, Flows, Endpoints, Requests)'],
  ['↑/↓, j/k', 'move the selection'],
  ['PgUp/PgDn, g/G', 'page up/down, first/last row'],
  ['Enter', "details of the selected finding or flow (a request's: its flow)"],
  ['Esc, Backspace', 'back from details'],
  ['w', "in a flow's or a finding's details: write the flow's packets, read again from the capture, to planewatch-<flow>.pcapng here"],
  ['c', "in a flow's or a finding's details: the flow's conversation (Follow Stream), decrypted when the capture carries its keys; ↑/↓ scroll, Esc back"],
  ['/', 'filter flows (address, port, path, app, SNI, severity, Community ID)'],
  ['s', 'cycle the flow sort key (time, bytes, severity, path, server)'],
  ['r', 'reverse the sort order'],
  ['?', 'this help (any key closes it)'],
  ['q, Ctrl-C', 'quit'],
];

export const SYMBOL_LINES: [string, string][] = [
  ['‼ critical  ▲ high  ◆ medium  ▽ low  · info  ✓ none', 'severity'],
];

export interface HelpOverlayProps {
  width: number;
}

/** The key list (`?`). */
export function HelpOverlay({ width }: HelpOverlayProps) {
  return (
    <Box flexDirection="column" width={width} borderStyle="round" paddingX={1}>
      <Text bold>Keys</Text>
      {HELP_LINES.map(([k, v]) => (
        <Text key={k} wrap="truncate">
          {k.padEnd(16)} {v}
        </Text>
      ))}
      {SYMBOL_LINES.map(([k, v]) => (
        <Text key={k} wrap="truncate">
          {v.padEnd(16)} {k}
        </Text>
      ))}
    </Box>
  );
}
