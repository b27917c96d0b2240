import { Box, Text } from 'ink';
import type { EndpointRow } from './tui-data';
import { fit, formatBytes, formatCount, windowStart } from './format';
import { useTheme } from './theme';

export interface EndpointsTabProps {
  endpoints: EndpointRow[];
  selected: number;
  width: number;
  height: number;
}

/** Addresses with the role learned for them, their flows, bytes and findings. */
export function EndpointsTab({ endpoints, selected, width, height }: EndpointsTabProps) {
  const theme = useTheme();
  const rows = Math.max(1, height - 1);
  const start = windowStart(selected, rows, endpoints.length);
  const addrW = Math.min(40, Math.max(15, width - 57));
  const nameW = Math.max(0, width - 2 - addrW - 16 - 8 - 10 - 9);
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">
        {'  '}{fit('ADDRESS', addrW)} {fit('ROLE', 16)} {fit('FLOWS', 7)} {fit('BYTES', 9)} {fit('FINDINGS', 8)} {fit('NAME', nameW)}
      </Text>
      {endpoints.length === 0 ? <Text>no endpoints yet (they appear after classification)</Text> : null}
      {endpoints.slice(start, start + rows).map((e, i) => {
        const sel = start + i === selected;
        return (
          <Text key={e.ip} wrap="truncate" inverse={sel && theme.color}>
            {sel ? '› ' : '  '}
            {fit(e.ip, addrW)} {fit(e.role, 16)} {fit(formatCount(e.flows), 7)} {fit(formatBytes(e.bytes), 9)} {fit(e.findings, 8)}{' '}
            {fit(e.name, nameW)}
          </Text>
        );
      })}
    </Box>
  );
}
