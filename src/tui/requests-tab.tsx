import { Box, Text } from 'ink';
import type { RequestRow } from './tui-data';
import { clean, fit, formatTime, windowStart } from './format';
import { useTheme } from './theme';

export interface RequestsTabProps {
  requests: RequestRow[];
  selected: number;
  width: number;
  height: number;
}

/**
 * The requests read on the connections, newest first: the Kubernetes operation on which object, the
 * status, whose credential, from which client to which server. Enter opens the request's flow.
 */
export function RequestsTab({ requests, selected, width, height }: RequestsTabProps) {
  const theme = useTheme();
  const rows = Math.max(1, height - 1);
  const start = windowStart(selected, rows, requests.length);
  // time 8, op 11, status 6, plain-text mark 2, separators; the rest shared by object, who and request.
  const rest = Math.max(30, width - 2 - 8 - 11 - 6 - 2 - 6);
  const objW = Math.floor(rest * 0.3);
  const whoW = Math.floor(rest * 0.3);
  const reqW = rest - objW - whoW;
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">
        {'  '}{fit('TIME', 8)} {fit('OP', 11)} {fit('OBJECT', objW)} {fit('STATUS', 6)} {fit('WHO', whoW)} {fit('REQUEST', reqW)}
      </Text>
      {requests.length === 0 ? <Text>no requests read (inside TLS they are read only with a key log)</Text> : null}
      {requests.slice(start, start + rows).map((r, i) => {
        const sel = start + i === selected;
        const refused = r.status === 401 || r.status === 403;
        return (
          <Text key={r.id} wrap="truncate" inverse={sel && theme.color}>
            {sel ? '› ' : '  '}
            {fit(formatTime(r.ts), 8)} {fit(r.operation ?? '-', 11)} {fit(clean(r.object || '-'), objW)}{' '}
            <Text color={refused && theme.color ? 'yellow' : undefined}>{fit(r.status ?? '-', 6)}</Text> {fit(clean(r.who ?? '-'), whoW)}{' '}
            {fit(clean(`${r.cleartext ? '! ' : ''}${r.request}  ${r.client} → ${r.server}`), reqW)}
          </Text>
        );
      })}
    </Box>
  );
}
