import type { Verdict } from '../model/analysis';
import type { FlowRecord } from '../model/flow-record';
import { applyAcceptances } from './acceptances';
import { classifyFlow } from './classifier';
import type { AnalysisInputs } from './context';
import { findingsForFlow } from './findings';
import type { Topology } from './topology';

/** A flow's verdict: its path, the findings the rules raise, and which of them are accepted risks. */
export function judgeFlow(f: FlowRecord, topology: Topology, inputs: AnalysisInputs): Verdict {
  const classification = classifyFlow(f, topology);
  const raised = findingsForFlow(f, classification, { topology, ca: inputs.ca });
  const { findings, accepted } = applyAcceptances(inputs.accept, raised, f, classification, (ip) => topology.nameOf(ip));
  return { classification, findings, accepted };
}
