import { useCallback, useEffect, useRef, useState } from 'react';
import { Box, useApp, useInput } from 'ink';
import { EndpointsTab } from './endpoints-tab';
import { RequestsTab } from './requests-tab';
import { FindingDetail } from './finding-detail';
import { FindingsTab } from './findings-tab';
import { FlowDetailView } from './flow-detail-view';
import { ConversationView, conversationPageLines } from './conversation-view';
import type { Conversation } from './conversation';
import { FlowsTab } from './flows-tab';
import { Footer } from './footer';
import { Header, StatusMessage } from './header';
import { HelpOverlay } from './help-overlay';
import { OverviewTab } from './overview-tab';
import { TabBar } from './tab-bar';
import { ThemeContext, type Theme } from './theme';
import { MAX_FILTER_LENGTH, SORT_KEYS, type FlowDetail, type FlowQuery, type TuiDataSource, type TuiSnapshot } from './tui-data';
import { useTerminalSize } from './use-terminal-size';

export const TABS = ['Overview', 'Findings', 'Flows', 'Endpoints', 'Requests'] as const;
/** How often the data is re-read (the live writer commits about once a second). */
export const REFRESH_MS = 1000;

export interface AppProps {
  data: TuiDataSource;
  theme: Theme;
  refreshMs?: number;
  /** Called when the user quits (q or Ctrl-C), before the app unmounts. */
  onQuit?: () => void;
}

// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f-\u009f]+$/;

/** The dashboard: state and keys; every view is a component fed by props. */
export function App({ data, theme, refreshMs = REFRESH_MS, onQuit }: AppProps) {
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize();
  const [tab, setTab] = useState(0);
  const [query, setQuery] = useState<FlowQuery>({ filter: '', sort: 'time', desc: true });
  const [snap, setSnap] = useState<TuiSnapshot>(() => data.load({ filter: '', sort: 'time', desc: true }));
  const [selected, setSelected] = useState([0, 0, 0, 0, 0]);
  const [detail, setDetail] = useState<{ kind: 'finding'; index: number } | { kind: 'flow'; id: number } | null>(null);
  const [flowDetail, setFlowDetail] = useState<FlowDetail | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [help, setHelp] = useState(false);
  /** What the last action said (a packets file written, or why not); cleared when the view changes. */
  const [note, setNote] = useState<string | null>(null);
  /** The conversation shown over a flow's details (c), and how far it is scrolled. */
  const [conversation, setConversation] = useState<Conversation | null>(null);
  const [convTop, setConvTop] = useState(0);
  const queryRef = useRef(query);
  queryRef.current = query;
  const detailRef = useRef(detail);
  detailRef.current = detail;

  const refresh = useCallback(() => {
    setSnap(data.load(queryRef.current));
    const d = detailRef.current;
    if (d !== null && d.kind === 'flow') setFlowDetail(data.flowDetail(d.id));
  }, [data]);

  useEffect(() => {
    const t = setInterval(refresh, refreshMs);
    return () => clearInterval(t);
  }, [refresh, refreshMs]);
  useEffect(() => {
    setSnap(data.load(query));
  }, [data, query]);

  // One line short of the terminal: a frame as tall as the screen makes Ink clear it on every redraw.
  const height = rows - 1;
  // What the live run or the stored capture has to say (a damaged stream, a run that died, writing
  // its packets stopped) takes a line of its own under the header.
  const message = snap.header.message;
  const bodyHeight = Math.max(3, height - 3 - (message !== null ? 1 : 0));
  const listLength = [0, snap.findings.length, snap.flows.length, snap.endpoints.length, snap.requests.length][tab]!;
  const sel = Math.min(selected[tab]!, Math.max(0, listLength - 1));
  const move = (delta: number, absolute = false) => {
    setSelected((s) => {
      const next = s.slice();
      const v = absolute ? delta : sel + delta;
      next[tab] = Math.max(0, Math.min(Math.max(0, listLength - 1), v));
      return next;
    });
  };
  const quit = () => {
    onQuit?.();
    exit();
  };

  useInput((input, key) => {
    if (key.ctrl && input === 'c') return quit();
    if (help) {
      setHelp(false);
      return;
    }
    if (editing !== null) {
      if (key.escape) setEditing(null);
      else if (key.return) {
        setQuery((q) => ({ ...q, filter: editing }));
        setSelected((s) => [s[0]!, s[1]!, 0, s[3]!]);
        setEditing(null);
      } else if (key.backspace || key.delete) setEditing(editing.slice(0, -1));
      else if (input && PRINTABLE.test(input) && !key.ctrl && !key.meta) setEditing((editing + input).slice(0, MAX_FILTER_LENGTH));
      return;
    }
    if (input === 'q') return quit();
    if (input === '?') return setHelp(true);
    if (detail !== null && conversation !== null) {
      const last = Math.max(0, conversation.lines.length - conversationPageLines(bodyHeight));
      const scroll = (to: number) => setConvTop(Math.max(0, Math.min(last, to)));
      if (key.escape || key.backspace || key.delete || key.leftArrow) {
        setConversation(null);
        setConvTop(0);
      } else if (key.upArrow || input === 'k') scroll(convTop - 1);
      else if (key.downArrow || input === 'j') scroll(convTop + 1);
      else if (key.pageUp) scroll(convTop - conversationPageLines(bodyHeight));
      else if (key.pageDown || input === ' ') scroll(convTop + conversationPageLines(bodyHeight));
      else if (input === 'g' || key.home) scroll(0);
      else if (input === 'G' || key.end) scroll(last);
      return;
    }
    if (detail !== null) {
      if (key.escape || key.backspace || key.delete || key.leftArrow) {
        setDetail(null);
        setFlowDetail(null);
        setNote(null);
      } else if (input === 'w' && data.writePackets) {
        // A flow's packets, or those of the flow a finding was raised on.
        const flowId = detail.kind === 'flow' ? detail.id : (snap.findings[detail.index]?.flowId ?? null);
        if (flowId === null) return;
        setNote('writing packets…');
        data.writePackets(flowId).then(setNote, (e: unknown) => setNote(String(e)));
      } else if (input === 'c' && data.conversation) {
        const flowId = detail.kind === 'flow' ? detail.id : (snap.findings[detail.index]?.flowId ?? null);
        if (flowId === null) return;
        setNote('reading the conversation from the capture…');
        const asked = detail;
        data.conversation(flowId).then(
          (r) => {
            // The user may have gone back meanwhile: nothing pops up over another view.
            if (detailRef.current !== asked) return;
            if (typeof r === 'string') return setNote(r);
            setNote(null);
            setConvTop(0);
            setConversation(r);
          },
          (e: unknown) => setNote(String(e)),
        );
      }
      return;
    }
    if (key.tab || key.rightArrow) return setTab((t) => (t + (key.shift ? TABS.length - 1 : 1)) % TABS.length);
    if (key.leftArrow) return setTab((t) => (t + TABS.length - 1) % TABS.length);
    if (input >= '1' && input <= String(TABS.length)) return setTab(Number(input) - 1);
    if (key.upArrow || input === 'k') return move(-1);
    if (key.downArrow || input === 'j') return move(1);
    if (key.pageUp) return move(-(bodyHeight - 2));
    if (key.pageDown) return move(bodyHeight - 2);
    if (input === 'g' || key.home) return move(0, true);
    if (input === 'G' || key.end) return move(listLength - 1, true);
    if (tab === 2 && input === '/') return setEditing(query.filter);
    if (tab === 2 && input === 's') {
      return setQuery((q) => ({ ...q, sort: SORT_KEYS[(SORT_KEYS.indexOf(q.sort) + 1) % SORT_KEYS.length]! }));
    }
    if (tab === 2 && input === 'r') return setQuery((q) => ({ ...q, desc: !q.desc }));
    if (tab === 2 && key.escape && query.filter !== '') return setQuery((q) => ({ ...q, filter: '' }));
    if (key.return) {
      if (tab === 1 && snap.findings[sel] !== undefined) setDetail({ kind: 'finding', index: sel });
      // A flow, or the flow that carried a request.
      const id = tab === 2 ? snap.flows[sel]?.id : tab === 4 ? snap.requests[sel]?.flowId : undefined;
      if (id !== undefined) {
        setDetail({ kind: 'flow', id });
        setFlowDetail(data.flowDetail(id));
      }
    }
  });

  let body;
  if (help) body = <HelpOverlay width={columns} />;
  else if (detail !== null && conversation !== null) {
    body = <ConversationView conversation={conversation} top={convTop} width={columns} height={bodyHeight} />;
  } else if (detail !== null && detail.kind === 'finding' && snap.findings[detail.index] !== undefined) {
    body = <FindingDetail finding={snap.findings[detail.index]!} width={columns} height={bodyHeight} />;
  } else if (detail !== null && detail.kind === 'flow') {
    body = <FlowDetailView detail={flowDetail} width={columns} height={bodyHeight} />;
  } else if (tab === 0) {
    body = <OverviewTab paths={snap.paths} severityCounts={snap.severityCounts} natRepeats={snap.natRepeatedFindings} accepted={snap.acceptedFindings} width={columns} height={bodyHeight} />;
  } else if (tab === 1) {
    body = <FindingsTab findings={snap.findings} selected={sel} width={columns} height={bodyHeight} />;
  } else if (tab === 2) {
    body = <FlowsTab flows={snap.flows} total={snap.flowTotal} query={query} selected={sel} width={columns} height={bodyHeight} />;
  } else if (tab === 3) {
    body = <EndpointsTab endpoints={snap.endpoints} selected={sel} width={columns} height={bodyHeight} />;
  } else {
    body = <RequestsTab requests={snap.requests} selected={sel} width={columns} height={bodyHeight} />;
  }
  const flowKeys = [
    'Esc back',
    data.conversation ? 'c conversation' : null,
    data.writePackets ? "w write the flow's packets (pcapng)" : null,
    '? help',
    'q quit',
  ].filter((x) => x !== null).join(' · ');
  const hints = help
    ? 'any key: close help'
    : detail !== null && conversation !== null
      ? '↑↓ scroll · PgUp/PgDn page · g/G top/end · Esc back to the flow · q quit'
      : note !== null
      ? `${note} · Esc back`
      : detail !== null
        ? flowKeys
        : tab === 2
          ? '↑↓ move · Enter detail · / filter · s sort · r reverse · Tab tabs · ? help · q quit'
          : `↑↓ move · Enter detail${tab === 4 ? ' (its flow)' : ''} · Tab/1-${TABS.length} tabs · ? help · q quit`;
  const counts = [
    TABS[0],
    `${TABS[1]} (${snap.findings.length})`,
    `${TABS[2]} (${snap.flowTotal})`,
    `${TABS[3]} (${snap.endpoints.length})`,
    `${TABS[4]} (${snap.requests.length})`,
  ];
  return (
    <ThemeContext.Provider value={theme}>
      <Box flexDirection="column" width={columns} height={height}>
        <Header info={snap.header} width={columns} />
        {message !== null ? <StatusMessage text={message} width={columns} /> : null}
        <TabBar tabs={counts} active={tab} width={columns} />
        <Box flexDirection="column" height={bodyHeight} overflow="hidden">
          {body}
        </Box>
        <Footer width={columns} hints={hints} editing={editing} />
      </Box>
    </ThemeContext.Provider>
  );
}
