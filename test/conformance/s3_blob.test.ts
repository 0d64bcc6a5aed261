import { s3BlobStore } from "../../src/blobs/s3.ts";
import { requireServices } from "../helpers/services.ts";
import { describeBlobConformance } from "./blob.ts";
import { s3Specifics } from "./_s3_specifics.ts";
import { s3BatchSpecifics } from "./_s3_batch_specifics.ts";
import { s3SseSpecifics } from "./_s3_sse_specifics.ts";

const { s3 } = requireServices();
describeBlobConformance("s3", () => s3BlobStore(s3), {
  additionalTests: () => {
    s3Specifics(s3);
    s3BatchSpecifics(s3);
    s3SseSpecifics(s3);
  },
});
