import { Box, Text } from 'ink';
import type { Conversation } from './conversation';
import { clean } from './format';
import { tint, useTheme } from './theme';

export interface ConversationViewProps {
  conversation: Conversation;
  /** First line shown (scroll position). */
  top: number;
  width: number;
  height: number;
}

/** Lines of the conversation below its summary; the rest of the body height is one screenful. */
export function conversationPageLines(height: number): number {
  return Math.max(1, height - 1);
}

/** A flow's conversation, client lines red and server lines blue (the header lines say who without colour). */
export function ConversationView({ conversation: c, top, width, height }: ConversationViewProps) {
  const theme = useTheme();
  const page = c.lines.slice(top, top + conversationPageLines(height));
  const end = Math.min(c.lines.length, top + page.length);
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">
        {clean(`${c.summary}  ·  lines ${c.lines.length === 0 ? 0 : top + 1}–${end} of ${c.lines.length}`, width * 2)}
      </Text>
      {page.map((l, i) => (
        <Text key={top + i} wrap="truncate" bold={l.header} {...tint(theme, l.side === 0 ? 'red' : l.side === 1 ? 'blue' : 'yellow')}>
          {clean(l.text === '' ? ' ' : l.text, width * 2)}
        </Text>
      ))}
    </Box>
  );
}
