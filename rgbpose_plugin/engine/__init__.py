"""Running a stage: one job per module.

* :mod:`.trainer`     -- the epoch loop of one training stage (and its checkpoints);
* :mod:`.tester`      -- multi-view testing of a trained stage;
* :mod:`.evaluation`  -- scoring every video of a split, metrics;
* :mod:`.batch`       -- this process's device and a batch's model inputs;
* :mod:`.loader`      -- DataLoaders, samplers, worker lifetime;
* :mod:`.stopping`    -- stop on request (preemption) at a safe point;
* :mod:`.logs`        -- log.txt per run and stage, stats, progress;
* :mod:`.distributed` -- processes, ranks, collectives;
* :mod:`.optim`, :mod:`.fast_paths`, :mod:`.rng`, :mod:`.plots`, :mod:`.run_lock`.
"""
