import { beforeAll, describe, expect, it } from 'vitest';
import { logicalId, synth, type Synthesized } from './synth';

let real: Synthesized;
beforeAll(() => {
  real = synth('outputs');
});

describe('the stack outputs', () => {
  it('name the API URL, bucket, table, alarm topic, import function and its dead-letter queue', () => {
    const outputs = real.template.toJSON().Outputs;
    const s = real.stack;
    const importFn = s.imports.node.findChild('Function').node.findChild('Function');
    expect(JSON.stringify(outputs.ApiUrl.Value)).toContain(`{"Ref":"${logicalId(s.api.httpApi)}"}`);
    expect(outputs.BucketName.Value).toEqual({ Ref: logicalId(s.imports.bucket) });
    expect(outputs.TableName.Value).toEqual({ Ref: logicalId(s.data.table) });
    expect(outputs.AlarmTopicArn.Value).toEqual({ Ref: logicalId(s.observability.topic) });
    expect(outputs.ImportFunctionName.Value).toEqual({ Ref: logicalId(importFn) });
    expect(outputs.ImportDeadLetterQueueUrl.Value).toEqual({ Ref: logicalId(s.imports.deadLetterQueue) });
  });
});
