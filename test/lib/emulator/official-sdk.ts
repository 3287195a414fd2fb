/** Databricks' official Zerobus SDK (the native binary of @databricks/zerobus-ingest-sdk), as tests use it. */

export interface OfficialStream {
  ingestRecordOffset(payload: Buffer | string): Promise<bigint>;
  ingestRecordsOffset(payloads: (Buffer | string)[]): Promise<bigint | null>;
  waitForOffset(offset: bigint): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}
export interface OfficialSdk {
  ZerobusSdk: new (endpoint: string, unityCatalogUrl: string) => {
    createStream(
      table: { tableName: string; descriptorProto?: string },
      clientId: string,
      clientSecret: string,
      options?: Record<string, unknown>,
      headers?: { getHeadersCallback: () => [string, string][] },
    ): Promise<OfficialStream>;
  };
  RecordType: { Json: number; Proto: number };
}

export const officialSdk = require('@databricks/zerobus-ingest-sdk-linux-x64-gnu/zerobus-ingest-sdk.linux-x64-gnu.node') as OfficialSdk;

export const OFFICIAL_ID = 'official-sdk-client';
export const OFFICIAL_SECRET = 'official-sdk-secret';
