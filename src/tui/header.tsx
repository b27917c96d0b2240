import { Box, Text } from 'ink';
import type { HeaderInfo } from './tui-data';
import { clean, formatCount, formatDuration } from './format';
import { tint, useTheme } from './theme';

export interface HeaderProps {
  info: HeaderInfo;
  width: number;
}

/** Packets, packets/s, flows, drops (kernel and ours), elapsed time and the source on one line (source last: it is cut first). */
export function Header({ info, width }: HeaderProps) {
  const theme = useTheme();
  const drops = info.kernelDrops + info.ourDrops;
  const state = info.running ? '● live' : '■ stored';
  return (
    <Box width={width}>
      <Text bold wrap="truncate">
        <Text {...tint(theme, 'cyan')}>planewatch</Text> <Text {...tint(theme, info.running ? 'green' : undefined)}>{state}</Text> │{' '}
        {formatCount(info.packets)} pkts {formatCount(info.packetsPerSec)}/s │ {formatCount(info.flows)} flows │{' '}
        <Text {...tint(theme, drops > 0 ? 'red' : undefined)}>
          {drops > 0 ? '! ' : ''}drops k:{formatCount(info.kernelDrops)} o:{formatCount(info.ourDrops)}
        </Text>{' '}
        │ {formatDuration(info.elapsedS)} │ {clean(info.source, 60)}
      </Text>
    </Box>
  );
}

/** A live run's or a stored capture's message (damage, a run that died, writing stopped), on one line. */
export function StatusMessage({ text, width }: { text: string; width: number }) {
  const theme = useTheme();
  return (
    <Box width={width}>
      <Text {...tint(theme, 'yellow')} wrap="truncate">
        ! {clean(text, Math.max(10, width - 2))}
      </Text>
    </Box>
  );
}
