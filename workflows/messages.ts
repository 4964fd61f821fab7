import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { FaultEvent } from '../schemas/fault-event';
import type { IncidentState } from './incident-state';

/** A further fault event for the target of an open incident (coalesced by the intake). */
export const faultObserved = defineSignal<[FaultEvent]>('faultObserved');

/** The monitor reports the fault resolved; during confirmation this closes the incident as recovered. */
export const faultResolved = defineSignal<[FaultEvent]>('faultResolved');

/** Everything `runbook show` prints: faults absorbed, steps, attempts, errors, status. */
export const incidentState = defineQuery<IncidentState>('state');
