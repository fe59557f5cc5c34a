package io.vrdma.transport.buffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.TransportException.ResourceFullException;
import org.junit.jupiter.api.Test;

class BufferPoolTest {
  @Test
  void buffersAreRoundedToSizeClassesAndReused() throws Exception {
    try (BufferPool pool = new BufferPool(1 << 20, 16 << 20, false)) {
      PooledBuffer a = pool.acquire(5000);
      assertEquals(8192, a.capacity());
      a.release();
      PooledBuffer b = pool.acquire(8000);
      assertEquals(8192, pool.allocatedBytes(), "the released buffer was reused, not a new one allocated");
      b.close();
      assertEquals(4096, pool.acquire(1).capacity());
    }
  }

  @Test
  void retainedBufferReturnsOnlyAfterTheLastRelease() throws Exception {
    try (BufferPool pool = new BufferPool(1 << 20, 16 << 20, false)) {
      PooledBuffer b = pool.acquire(100);
      b.retain();
      b.release();
      assertEquals(1, pool.outstandingBuffers());
      b.release();
      assertEquals(0, pool.outstandingBuffers());
      assertThrows(IllegalStateException.class, b::release);
      assertThrows(IllegalStateException.class, b::nioBuffer);
      assertThrows(IllegalStateException.class, b::retain);
    }
  }

  @Test
  void leakReportNamesWhereTheLeakedBufferWasAcquired() throws Exception {
    try (BufferPool pool = new BufferPool(1 << 20, 16 << 20, true)) {
      PooledBuffer leaked = pool.acquire(100);
      String report = pool.leakReport();
      assertTrue(report.contains("leakReportNamesWhereTheLeakedBufferWasAcquired"), report);
      leaked.release();
      assertEquals("", pool.leakReport());
    }
  }

  @Test
  void exhaustedBudgetFailsWithAClearErrorAndCachedBuffersAreEvictedFirst() throws Exception {
    try (BufferPool pool = new BufferPool(1 << 20, 2 << 20, false)) {
      PooledBuffer small = pool.acquire(4096);
      small.release();
      PooledBuffer big1 = pool.acquire(1 << 20);
      PooledBuffer big2 = pool.acquire(1 << 20); // fits only once the cached 4 KiB buffer is dropped
      ResourceFullException e = assertThrows(ResourceFullException.class, () -> pool.acquire(4096));
      assertTrue(e.getMessage().contains("vrdma.transport.pool.maxBytes"), e.getMessage());
      big1.release();
      big2.release();
    }
  }

  @Test
  void requestsBeyondTheLargestBufferAreRefused() {
    try (BufferPool pool = new BufferPool(1 << 20, 16 << 20, false)) {
      assertThrows(IllegalArgumentException.class, () -> pool.acquire((1 << 20) + 1));
      assertThrows(IllegalArgumentException.class, () -> pool.acquire(0));
    }
  }
}
