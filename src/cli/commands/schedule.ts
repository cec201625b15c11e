/** `waymark schedule ...`: batches started on a cron expression or an interval by a Temporal Schedule. */
import { Option, type Command } from 'commander';
import { loadConfiguredProcessors } from '../../processors/configured';
import { temporalAddress } from '../../settings';
import { connectClient } from '../../connection/connect';
import { CliError } from '../../user-error';
import { readSpecFile, validateSpecForStart } from '../start-batch';
import {
  OVERLAP_POLICIES,
  batchSchedules,
  createSchedule,
  describeLines,
  describeTiming,
  existingSchedule,
  overlapText,
  parseEvery,
  summaryLine,
  type OverlapName,
  type ScheduleTiming,
} from '../schedules';

export function addScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('start batches on a cron expression or an interval, with a Temporal Schedule');
  addCreate(schedule);
  addList(schedule);
  addDescribe(schedule);
  addPause(schedule);
  addUnpause(schedule);
  addTrigger(schedule);
  addDelete(schedule);
}

interface CreateFlags {
  id: string;
  cron?: string;
  every?: string;
  spec: string;
  overlap: OverlapName;
}

function addCreate(schedule: Command): void {
  schedule
    .command('create')
    .description('create a schedule; each run is a batch of its own, id ID-<scheduled time>')
    .requiredOption('--id <id>', 'schedule id; the prefix of the batch ids it starts')
    .option('--cron <expr>', 'when to start a batch, e.g. "0 2 * * *" (02:00 UTC every day)')
    .option('--every <duration>', 'start a batch at this interval, e.g. 30m, 1h, 1d')
    .requiredOption('--spec <file>', 'the batch spec as JSON (as for `waymark start --spec`)')
    .addOption(
      new Option('--overlap <policy>', 'what happens when a batch is due while the previous one runs')
        .choices(Object.keys(OVERLAP_POLICIES))
        .default('skip'),
    )
    .action(create);
}

async function create(o: CreateFlags): Promise<void> {
  if ((o.cron === undefined) === (o.every === undefined)) {
    throw new CliError('say when, with exactly one of --cron EXPR (e.g. "0 2 * * *") or --every DURATION (e.g. 1h)');
  }
  const timing: ScheduleTiming = o.cron !== undefined ? { cron: o.cron } : { every: o.every! };
  if ('every' in timing) parseEvery(timing.every);
  loadConfiguredProcessors();
  const spec = validateSpecForStart(readSpecFile(o.spec));
  const client = await connectClient();
  await createSchedule(client, { scheduleId: o.id, timing, spec, overlap: o.overlap });
  console.log(`created schedule ${o.id}: ${describeTiming(timing)}; each run is a batch ${o.id}-<scheduled time>`);
  console.log(`overlap ${overlapText(OVERLAP_POLICIES[o.overlap])}`);
  console.log(`see it with \`waymark schedule describe ${o.id}\``);
}

function addList(schedule: Command): void {
  schedule
    .command('list')
    .description('schedules that start batches, with state, timing, next run and last batch')
    .action(async () => {
      const client = await connectClient();
      let n = 0;
      for await (const s of batchSchedules(client)) {
        console.log(summaryLine(s));
        n++;
      }
      if (n === 0) console.log(`no batch schedules on ${temporalAddress()}`);
    });
}

function addDescribe(schedule: Command): void {
  schedule
    .command('describe')
    .description('timing, state, overlap policy, the batch it starts, and its recent and running batches')
    .argument('<id>', 'schedule id')
    .action(async (id: string) => {
      const { description } = await existingSchedule(await connectClient(), id);
      for (const line of describeLines(description)) console.log(line);
    });
}

function addPause(schedule: Command): void {
  schedule
    .command('pause')
    .description('start no batches until unpaused; batches already running go on')
    .argument('<id>', 'schedule id')
    .action(async (id: string) => {
      const { handle } = await existingSchedule(await connectClient(), id);
      await handle.pause('paused with `waymark schedule pause`');
      console.log(`paused schedule ${id}; batches it started go on; \`waymark schedule unpause ${id}\` resumes it`);
    });
}

function addUnpause(schedule: Command): void {
  schedule
    .command('unpause')
    .description('start batches on time again')
    .argument('<id>', 'schedule id')
    .action(async (id: string) => {
      const { handle } = await existingSchedule(await connectClient(), id);
      await handle.unpause('unpaused with `waymark schedule unpause`');
      console.log(`unpaused schedule ${id}`);
    });
}

function addTrigger(schedule: Command): void {
  schedule
    .command('trigger')
    .description("start a batch now, under the schedule's overlap policy")
    .argument('<id>', 'schedule id')
    .action(trigger);
}

async function trigger(id: string): Promise<void> {
  const { handle, description } = await existingSchedule(await connectClient(), id);
  // The client's default for a trigger is ALLOW_ALL; the schedule's own policy keeps its promise.
  await handle.trigger(description.policies.overlap);
  const running = description.info.runningActions.map((a) => a.workflow.workflowId);
  if (description.policies.overlap === 'SKIP' && running.length > 0) {
    console.log(`triggered schedule ${id}, but batch ${running.join(', ')} from it still runs: under overlap SKIP no batch starts now`);
  } else {
    console.log(`triggered schedule ${id}: a batch ${id}-<now> starts; see it with \`waymark schedule describe ${id}\``);
  }
}

function addDelete(schedule: Command): void {
  schedule
    .command('delete')
    .description('delete a schedule; batches it started go on')
    .argument('<id>', 'schedule id')
    .action(async (id: string) => {
      const { handle } = await existingSchedule(await connectClient(), id);
      await handle.delete();
      console.log(`deleted schedule ${id}; batches it started go on (see \`waymark list\`)`);
    });
}
