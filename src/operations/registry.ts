// The operation kinds lanebot knows, each a spec: how it takes its slot, what may hold it back
// before it starts, its steps, and how its thread shows it. The registry is built once at start-up
// and checked then, so a kind that is missing or malformed stops the start, not a deploy at 3 am.
import type { OperationView } from '../chat/messages';
import type { OperationKind, OperationRecord, OperationStatus } from '../domain/operation';
import type { OperationPatch } from '../state/operation-store';
import type { GateDeps } from './gates/gate-deps';
import type { AdmissionPolicy } from '../state/lane-registry';
import type { OperationStep } from './step';

/**
 * What must hold before an operation is admitted to its slot (an approval). Runs in the request job,
 * after the record exists: `open` starts the gate's request (once; `none` when this operation needs
 * none), `check` says where it stands. The request job waits in the delayed set meanwhile; a
 * decision (a button) brings it back at once.
 */
export interface OperationGate {
  name: string;
  open(op: OperationRecord, deps: GateDeps): Promise<'none' | 'opened'>;
  check(op: OperationRecord, deps: GateDeps): Promise<GateVerdict>;
}

export type GateVerdict = { kind: 'pass' } | { kind: 'wait'; inMs: number } | { kind: 'end'; status: OperationStatus; patch?: OperationPatch };

export interface OperationKindSpec {
  kind: OperationKind;
  admission: AdmissionPolicy;
  gate?: OperationGate;
  /** Run in order; each is called again until it is done (step.ts). */
  steps: readonly OperationStep[];
  view: OperationView;
  /**
   * What ending this operation does to its lane besides freeing the slot: a delete that removed the
   * stack retires the lane, one that did not restores it.
   */
  laneOutcome?(op: OperationRecord): 'retire' | 'restore' | '';
}

export class OperationRegistry {
  private readonly specs: ReadonlyMap<OperationKind, OperationKindSpec>;

  /** Throws when a kind is declared twice, has no steps, or its steps share a name. */
  constructor(specs: readonly OperationKindSpec[]) {
    const map = new Map<OperationKind, OperationKindSpec>();
    for (const spec of specs) {
      if (map.has(spec.kind)) throw new Error(`operation kind "${spec.kind}" is registered twice`);
      if (spec.steps.length === 0) throw new Error(`operation kind "${spec.kind}" has no steps`);
      const names = spec.steps.map((s) => s.name);
      const repeated = names.find((name, i) => names.indexOf(name) !== i);
      if (repeated) throw new Error(`operation kind "${spec.kind}" has two steps named "${repeated}"`);
      if (spec.admission !== 'newest-wins' && spec.admission !== 'exclusive') {
        throw new Error(`operation kind "${spec.kind}" has an unknown admission policy "${String(spec.admission)}"`);
      }
      map.set(spec.kind, spec);
    }
    this.specs = map;
  }

  /** Every kind the code can queue must be here: checked at start-up by the composition root. */
  requireAll(kinds: readonly OperationKind[]): void {
    const missing = kinds.filter((k) => !this.specs.has(k));
    if (missing.length > 0) throw new Error(`operation kinds without a spec: ${missing.join(', ')}`);
  }

  spec(kind: OperationKind): OperationKindSpec {
    const spec = this.specs.get(kind);
    // Records come from Redis: one written by a newer lanebot may name a kind this one lacks.
    if (!spec) throw new Error(`unknown operation kind "${kind}"`);
    return spec;
  }

  has(kind: string): kind is OperationKind {
    return this.specs.has(kind as OperationKind);
  }

  kinds(): OperationKind[] {
    return [...this.specs.keys()];
  }

  /** The view of an operation's kind, for the thread narrator. */
  readonly viewOf = (op: OperationRecord): OperationView => this.spec(op.kind).view;
}
