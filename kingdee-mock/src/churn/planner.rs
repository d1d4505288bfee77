//! Decides the churn's next operation. A step either advances a workflow already under way (a
//! row that was un-audited and waits for its save, a new material waiting for its audit, …)
//! or starts a new one chosen by the mix; the more workflows are under way, the likelier a
//! step finishes one, so a few stay open and their steps interleave as users' would. A row
//! takes part in one workflow at a time. Every choice comes from one seeded stream.

use std::collections::{HashSet, VecDeque};

use super::Mix;
use crate::config::Living;
use crate::data::Store;
use crate::data::row::{Arena, Row};
use crate::lifecycle::{self, Change, Ctx, Edit, Request, doc_status, forbid_status};
use crate::rng::Rng;

/// The rest of one row's workflow.
#[derive(Debug)]
struct Flow {
    id: i64,
    steps: VecDeque<Request>,
}

#[derive(Debug)]
pub struct Planner {
    rng: Rng,
    weights: [u32; 7],
    flows: Vec<Flow>,
    busy: HashSet<i64>,
    /// Steps a changed row refused (only an operator's own edits can cause that).
    pub refused: u64,
}

/// Random probes for a row that suits a workflow before another workflow is tried.
const PROBES: usize = 256;

impl Planner {
    pub fn new(seed: u64, mix: &Mix) -> Self {
        Self {
            rng: Rng::new(seed),
            weights: mix.weights(),
            flows: Vec::new(),
            busy: HashSet::new(),
            refused: 0,
        }
    }

    /// Workflows under way.
    pub fn in_flight(&self) -> usize {
        self.flows.len()
    }

    /// Applies one operation; `None` when nothing could be applied (an empty store).
    pub fn step(&mut self, store: &mut Store, living: &Living, now: i64) -> Option<Change> {
        for _ in 0..32 {
            let open = self.flows.len() as u64;
            let change = if open > 0 && self.rng.below(open + 3) < open {
                let i = self.rng.below(open) as usize;
                self.advance(i, store, living, now)
            } else {
                self.start(store, living, now)
            };
            if change.is_some() {
                return change;
            }
        }
        None
    }

    fn advance(
        &mut self,
        i: usize,
        store: &mut Store,
        living: &Living,
        now: i64,
    ) -> Option<Change> {
        let flow = &mut self.flows[i];
        let (id, request) = (flow.id, flow.steps.pop_front()?);
        let finished = flow.steps.is_empty();
        let mut ctx = Ctx {
            living,
            now,
            rng: &mut self.rng,
        };
        let done = lifecycle::apply(store, id, &request, &mut ctx);
        if finished || done.is_err() {
            self.flows.swap_remove(i);
            self.busy.remove(&id);
        }
        self.refused += u64::from(done.is_err());
        done.ok()
    }

    fn follow(&mut self, id: i64, steps: impl IntoIterator<Item = Request>) {
        let steps: VecDeque<Request> = steps.into_iter().collect();
        if !steps.is_empty() && self.busy.insert(id) {
            self.flows.push(Flow { id, steps });
        }
    }

    /// A random live row, not in a workflow, that `suits`.
    fn pick(&mut self, store: &Store, suits: impl Fn(&Row, &Arena) -> bool) -> Option<i64> {
        let slots = store.slots();
        if slots.is_empty() {
            return None;
        }
        (0..PROBES).find_map(|_| {
            let r = &slots[self.rng.below(slots.len() as u64) as usize];
            (!r.deleted && !self.busy.contains(&r.material_id) && suits(r, store.arena()))
                .then_some(r.material_id)
        })
    }

    fn start(&mut self, store: &mut Store, living: &Living, now: i64) -> Option<Change> {
        let audited = |r: &Row, a: &Arena| doc_status(r, a) == "C";
        let (id, first, then): (i64, Request, Vec<Request>) = match self.rng.weighted(&self.weights)
        {
            0 => {
                let id = self.pick(store, |_, _| true)?;
                let edit = match self.rng.weighted(&[70, 20, 10]) {
                    0 => Edit::Name,
                    1 => Edit::Spec,
                    _ => Edit::Both,
                };
                let pos = store.position(id)?;
                match doc_status(&store.slots()[pos], store.arena()) {
                    "C" => {
                        let rest = vec![Request::Save(edit), Request::Submit, Request::Audit];
                        (id, Request::Unaudit, rest)
                    }
                    // A row someone submitted earlier: its reviewer audits it first.
                    "B" => (id, Request::Audit, Vec::new()),
                    _ => (
                        id,
                        Request::Save(edit),
                        vec![Request::Submit, Request::Audit],
                    ),
                }
            }
            1 => {
                let id = self.pick(store, audited)?;
                let again = self.rng.chance(0.5);
                let rest = if again {
                    vec![Request::Submit, Request::Audit]
                } else {
                    Vec::new()
                };
                (id, Request::Unaudit, rest)
            }
            2 => {
                let id = self.pick(store, |r, a| audited(r, a) && forbid_status(r, a) == "A")?;
                let back = self.rng.chance(0.25);
                (
                    id,
                    Request::Forbid,
                    back.then_some(Request::Enable).into_iter().collect(),
                )
            }
            3 => (
                self.pick(store, |r, a| forbid_status(r, a) == "B")?,
                Request::Enable,
                Vec::new(),
            ),
            4 => {
                let id = self.pick(store, |r, a| doc_status(r, a) != "B")?;
                let pos = store.position(id)?;
                if lifecycle::has_copies(store, pos) {
                    return None;
                }
                if audited(&store.slots()[pos], store.arena()) {
                    (id, Request::Unaudit, vec![Request::Delete])
                } else {
                    (id, Request::Delete, Vec::new())
                }
            }
            5 => {
                let id = self.pick(store, |r, a| audited(r, a) && forbid_status(r, a) == "A")?;
                let audit = self.rng.chance(0.5);
                (id, Request::Allocate { org: None, audit }, Vec::new())
            }
            _ => return self.create(store, living, now),
        };
        let mut ctx = Ctx {
            living,
            now,
            rng: &mut self.rng,
        };
        match lifecycle::apply(store, id, &first, &mut ctx) {
            Ok(change) => {
                if let Request::Allocate { audit: false, .. } = first {
                    // The copy, not its source, waits for its audit.
                    self.follow(change.material_id, [Request::Submit, Request::Audit]);
                } else {
                    self.follow(id, then);
                }
                Some(change)
            }
            // A master whose orgs are all taken, say: try something else.
            Err(_) => None,
        }
    }

    fn create(&mut self, store: &mut Store, living: &Living, now: i64) -> Option<Change> {
        let mut ctx = Ctx {
            living,
            now,
            rng: &mut self.rng,
        };
        let change = lifecycle::create(store, None, &mut ctx).ok()?;
        let then = match self.rng.weighted(&[85, 10, 5]) {
            0 => vec![Request::Submit, Request::Audit],
            1 => vec![Request::Save(Edit::Name), Request::Submit, Request::Audit],
            _ => Vec::new(),
        };
        self.follow(change.material_id, then);
        Some(change)
    }
}
