package io.braid.nbd;

import java.util.concurrent.ThreadFactory;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/**
 * Netty's native epoll transport where its library loads (Linux on x86_64), NIO elsewhere: the
 * event loops and the channel classes that go with them. Epoll saves system calls and wake-ups
 * per message (edge-triggered, no selected-key sets), which is most of what a small replicated
 * operation costs on a loopback connection. A channel must be of its loop's kind.
 */
public final class EventLoops {
    private EventLoops() {
    }

    /** Whether the native transport is in use. */
    public static boolean nativeTransport() {
        return Epoll.isAvailable();
    }

    public static EventLoopGroup group(int threads, ThreadFactory threadFactory) {
        return nativeTransport() ? new EpollEventLoopGroup(threads, threadFactory) : new NioEventLoopGroup(threads, threadFactory);
    }

    public static Class<? extends ServerSocketChannel> serverChannel(EventLoopGroup group) {
        return group instanceof EpollEventLoopGroup ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public static Class<? extends SocketChannel> socketChannel(EventLoopGroup group) {
        return group instanceof EpollEventLoopGroup ? EpollSocketChannel.class : NioSocketChannel.class;
    }
}
